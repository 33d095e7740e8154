"""Every query of the tickets domain."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from relaydesk.tickets.enums import AuthorKind, Channel, Priority, QueueKind, TicketSort, TicketStatus
from relaydesk.tickets.models import Message, Ticket, TicketEvent

__all__ = ["SortKey", "TicketFilters", "TicketRepository", "sort_position"]


@dataclass(frozen=True)
class TicketFilters:
    status: list[TicketStatus] | None = None
    priority: list[Priority] | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    channel: Channel | None = None
    category: str | None = None
    unassigned: bool = False
    # Issue 21 (the workspace inbox): any of these teams, queues, channels; every one of these flags.
    team_ids: frozenset[int] | None = None
    queue: list[QueueKind] | None = None
    channels: list[Channel] | None = None
    language: str | None = None
    flags: frozenset[str] = frozenset()


# Priority as a number the database can order by (the enum's values sort alphabetically).
_PRIORITY_RANK = case({p.value: p.rank for p in Priority}, value=Ticket.priority, else_=literal(0))


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order: its name in the cursor, the expression, and its direction."""

    name: str
    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool


# Each order ends in the id, so it is total and a cursor names one place in it.
_SORT_KEYS: dict[TicketSort, tuple[SortKey, ...]] = {
    TicketSort.NEWEST: (SortKey("id", Ticket.id, descending=True),),
    TicketSort.OLDEST: (SortKey("id", Ticket.id, descending=False),),
    TicketSort.PRIORITY: (
        SortKey("rank", _PRIORITY_RANK, descending=True),
        SortKey("id", Ticket.id, descending=False),
    ),
}


def sort_position(ticket: Ticket, sort: TicketSort) -> dict[str, int]:
    """The cursor values of ``ticket`` in ``sort`` (what the next page continues after)."""
    values = {"id": ticket.id, "rank": Priority(ticket.priority).rank}
    return {key.name: values[key.name] for key in _SORT_KEYS[sort]}


def _after(sort: TicketSort, position: dict[str, int]) -> ColumnElement[bool]:
    """Rows strictly after ``position`` in the order: (a beyond x) or (a = x and b beyond y) or ..."""
    keys = _SORT_KEYS[sort]
    clauses: list[ColumnElement[bool]] = []
    for index, key in enumerate(keys):
        value = position[key.name]
        beyond = key.expression < value if key.descending else key.expression > value
        equal_before = [k.expression == position[k.name] for k in keys[:index]]
        clauses.append(and_(*equal_before, beyond) if equal_before else beyond)
    return or_(*clauses)


class TicketRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        if not for_update:
            return self.session.get(Ticket, ticket_id)
        # Locked and re-read: what is decided from the row (its status, its version) stays true
        # until commit.
        return self.session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)

    def lock_free(self, ticket_ids: Collection[int]) -> Sequence[Ticket]:
        """Those of the tickets no other transaction holds, locked (in id order) and re-read; the
        held ones are skipped, never waited for (``SKIP LOCKED``; SQLite's one writer holds them all)."""
        if not ticket_ids:
            return []
        stmt = (
            select(Ticket)
            .where(Ticket.id.in_(sorted(ticket_ids)))
            .order_by(Ticket.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).all()

    def page(
        self,
        filters: TicketFilters,
        *,
        hidden_team_ids: set[int],
        after_id: int | None = None,
        limit: int,
        sort: TicketSort = TicketSort.NEWEST,
        after: dict[str, int] | None = None,
    ) -> Sequence[Ticket]:
        """A page in ``sort`` order after the cursor position ``after`` (or, for the newest first,
        ``after_id``)."""
        keys = _SORT_KEYS[sort]
        stmt = self._filtered(select(Ticket), filters, hidden_team_ids)
        stmt = stmt.order_by(*(k.expression.desc() if k.descending else k.expression.asc() for k in keys))
        if after is None and after_id is not None:
            after = {"id": after_id}
        if after is not None:
            stmt = stmt.where(_after(sort, after))
        return self.session.scalars(stmt.limit(limit)).all()

    def count(self, filters: TicketFilters, *, hidden_team_ids: set[int]) -> int:
        stmt = self._filtered(select(func.count()).select_from(Ticket), filters, hidden_team_ids)
        return int(self.session.scalar(stmt) or 0)

    def _filtered(self, stmt: Select[Any], filters: TicketFilters, hidden_team_ids: set[int]) -> Select[Any]:
        if hidden_team_ids:
            stmt = stmt.where(or_(Ticket.team_id.is_(None), Ticket.team_id.not_in(hidden_team_ids)))
        if filters.status:
            stmt = stmt.where(Ticket.status.in_(filters.status))
        if filters.priority:
            stmt = stmt.where(Ticket.priority.in_(filters.priority))
        if filters.team_id is not None:
            stmt = stmt.where(Ticket.team_id == filters.team_id)
        if filters.team_ids is not None:
            stmt = stmt.where(Ticket.team_id.in_(sorted(filters.team_ids)) if filters.team_ids else false())
        if filters.assignee_id is not None:
            stmt = stmt.where(Ticket.assignee_id == filters.assignee_id)
        if filters.unassigned:
            stmt = stmt.where(Ticket.assignee_id.is_(None))
        if filters.customer_id is not None:
            stmt = stmt.where(Ticket.customer_id == filters.customer_id)
        if filters.channel is not None:
            stmt = stmt.where(Ticket.channel == filters.channel)
        if filters.channels:
            stmt = stmt.where(Ticket.channel.in_(filters.channels))
        if filters.category is not None:
            stmt = stmt.where(Ticket.category == filters.category)
        if filters.queue:
            stmt = stmt.where(Ticket.queue.in_(filters.queue))
        if filters.language is not None:
            stmt = stmt.where(Ticket.language == filters.language)
        for flag in sorted(filters.flags):
            stmt = stmt.where(self._has_flag(flag))
        return stmt

    def _has_flag(self, flag: str) -> ColumnElement[bool]:
        if self.session.get_bind().dialect.name == "postgresql":
            # JSONB containment, served by the GIN index on tickets.flags.
            # type_coerce: the column's JSONB variant, without a CAST in the SQL that would hide the index.
            return type_coerce(Ticket.flags, JSONB).contains([flag])
        each = func.json_each(Ticket.flags).table_valued("value")
        return exists(select(true()).select_from(each).where(each.c.value == flag))

    def latest_unclosed_for_customer(self, customer_id: int, *, for_update: bool = False) -> Ticket | None:
        stmt = (
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.status != TicketStatus.CLOSED)
            .order_by(Ticket.id.desc())
            .limit(1)
        )
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self.session.scalar(stmt)

    def note_customer_message(self, ticket: Ticket, *, at: datetime, reply_channel: Channel | None) -> None:
        """Record that the customer wrote, without bumping the ticket's version.

        The version guards agents' edits against each other; a message appended beside an edit
        conflicts with nothing, so parallel messages (and an agent's save) must not refuse each other.
        """
        values: dict[str, object] = {"last_customer_message_at": at}
        if reply_channel is not None:
            values["reply_channel"] = reply_channel
        self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        for name, value in values.items():
            set_committed_value(ticket, name, value)
        self.session.expire(ticket, ["updated_at"])

    def customers_with_tickets_in_teams(self, customer_ids: set[int], team_ids: set[int]) -> set[int]:
        if not customer_ids or not team_ids:
            return set()
        return set(
            self.session.scalars(
                select(Ticket.customer_id)
                .where(Ticket.customer_id.in_(customer_ids), Ticket.team_id.in_(team_ids))
                .distinct()
            )
        )

    def inbound_senders(self, ticket_id: int, channel: Channel) -> Sequence[Message]:
        return self.session.scalars(
            select(Message)
            .where(
                Message.ticket_id == ticket_id,
                Message.channel == channel,
                Message.author_kind == AuthorKind.CUSTOMER,
            )
            .order_by(Message.id)
        ).all()

    def latest_inbound(self, ticket_id: int, channel: Channel) -> Message | None:
        return self.session.scalar(
            select(Message)
            .where(
                Message.ticket_id == ticket_id,
                Message.channel == channel,
                Message.author_kind == AuthorKind.CUSTOMER,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )

    def messages(self, ticket_id: int, *, include_internal: bool) -> Sequence[Message]:
        stmt = select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
        if not include_internal:
            stmt = stmt.where(Message.public.is_(True))
        return self.session.scalars(stmt).all()

    def message_by_provider_id(self, channel: Channel, provider_message_id: str) -> Message | None:
        return self.session.scalar(
            select(Message).where(
                Message.channel == channel, Message.provider_message_id == provider_message_id
            )
        )

    def events(self, ticket_id: int, *, after_id: int | None, limit: int) -> Sequence[TicketEvent]:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        if after_id is not None:
            stmt = stmt.where(TicketEvent.id > after_id)
        return self.session.scalars(stmt.limit(limit)).all()

    # --- Issue 20: queries behind the service functions other domains call (triage, deflection, channels) ---

    def message(self, message_id: int) -> Message | None:
        return self.session.get(Message, message_id)

    def first_message_id(self, ticket_id: int) -> int | None:
        return self.session.scalar(select(func.min(Message.id)).where(Message.ticket_id == ticket_id))

    def latest_event(self, ticket_id: int, kind: str) -> TicketEvent | None:
        return self.session.scalar(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )

    def settled_with_first_message(
        self, field_name: str, *, also_ticket_ids: Collection[int], limit: int
    ) -> list[tuple[int, str, str, object, bool]]:
        """(id, subject, first customer message, value, listed) of the newest tickets with a value for
        the field that are resolved or closed, or named in ``also_ticket_ids`` (``listed``) whatever
        their status."""
        field = {"category": Ticket.category, "priority": Ticket.priority, "team": Ticket.team_id}[field_name]
        # Rendered into the statement: a long list of ids must not meet a driver's parameter limit.
        listed = Ticket.id.in_(bindparam("also_ticket_ids", sorted(also_ticket_ids), literal_execute=True))
        done = Ticket.status.in_([TicketStatus.RESOLVED, TicketStatus.CLOSED])
        first_message = (
            select(func.min(Message.id))
            .where(Message.ticket_id == Ticket.id, Message.author_kind == AuthorKind.CUSTOMER)
            .correlate(Ticket)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(Ticket.id, Ticket.subject, Message.body_text, field, listed)
            .join(Message, Message.id == first_message)
            .where(field.is_not(None), done | listed)
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- Phone callbacks and call events (channels.phone) ---------------------------------------------

    def in_queue(self, ticket_ids: Collection[int], queue: QueueKind) -> Sequence[Ticket]:
        if not ticket_ids:
            return []
        return self.session.scalars(
            select(Ticket).where(Ticket.id.in_(list(ticket_ids)), Ticket.queue == queue)
        ).all()

    def events_of_kind(self, ticket_id: int, kind: str) -> Sequence[TicketEvent]:
        return self.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        ).all()

    def customer_conversation(
        self, customer_id: int, channels: Sequence[Channel], *, after_id: int | None, limit: int
    ) -> list[Message]:
        """The customer's public messages on these channels across their tickets, oldest first."""
        stmt = (
            select(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Ticket.customer_id == customer_id,
                Message.public.is_(True),
                Message.channel.in_(list(channels)),
            )
        )
        if after_id is not None:
            rows = self.session.scalars(
                stmt.where(Message.id > after_id).order_by(Message.id).limit(limit)
            ).all()
            return list(rows)
        # The newest ``limit`` messages, returned oldest first.
        newest = self.session.scalars(stmt.order_by(Message.id.desc()).limit(limit)).all()
        return list(reversed(newest))

    # -- Routing (issue 21) ----------------------------------------------------------------------------

    def assigned_counts(
        self, agent_ids: Collection[int], statuses: Collection[TicketStatus]
    ) -> dict[int, dict[Channel, int]]:
        if not agent_ids:
            return {}
        rows = self.session.execute(
            select(Ticket.assignee_id, Ticket.channel, func.count())
            .where(Ticket.assignee_id.in_(list(agent_ids)), Ticket.status.in_(list(statuses)))
            .group_by(Ticket.assignee_id, Ticket.channel)
        )
        counts: dict[int, dict[Channel, int]] = {}
        for agent_id, channel, n in rows:
            if agent_id is not None:
                counts.setdefault(int(agent_id), {})[Channel(channel)] = int(n)
        return counts

    @staticmethod
    def assigned_weight_sql(
        agent_id: ColumnElement[int],
        statuses: Collection[TicketStatus],
        weights: Mapping[Channel, int],
        default_weight: int,
    ) -> ColumnElement[int]:
        # Correlated to the caller's agent column: read through the index on tickets.assignee_id.
        weight: ColumnElement[int] = (
            case({c.value: w for c, w in weights.items()}, value=Ticket.channel, else_=default_weight)
            if weights
            else literal(default_weight)
        )
        return (
            select(func.coalesce(func.sum(weight), 0))
            .where(Ticket.assignee_id == agent_id, Ticket.status.in_(list(statuses)))
            .scalar_subquery()
        )

    def waiting_ids(self, ticket_ids: Collection[int]) -> set[int]:
        if not ticket_ids:
            return set()
        # Rendered into the statement: a long queue must not meet a driver's parameter limit.
        listed = Ticket.id.in_(bindparam("waiting_ids", sorted(ticket_ids), literal_execute=True))
        return set(
            self.session.scalars(
                select(Ticket.id).where(
                    listed, Ticket.status == TicketStatus.QUEUED, Ticket.assignee_id.is_(None)
                )
            )
        )

    def previous_assignee(self, customer_id: int, exclude_ticket_id: int, since: datetime) -> int | None:
        return self.session.scalar(
            select(Ticket.assignee_id)
            .where(
                Ticket.customer_id == customer_id,
                Ticket.id != exclude_ticket_id,
                Ticket.assignee_id.is_not(None),
                Ticket.created_at >= since,
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        )

    def agent_acted_since(self, ticket_id: int, agent_id: int, since: datetime) -> bool:
        found = self.session.scalar(
            select(TicketEvent.id)
            .where(
                TicketEvent.ticket_id == ticket_id,
                TicketEvent.actor_kind == AuthorKind.AGENT,
                TicketEvent.actor_id == agent_id,
                TicketEvent.created_at > since,
                # Routing's own events (an offer accepted) are not working the ticket; the assignment's
                # own events are older than ``since`` (the router stamps it after writing them).
                TicketEvent.kind.not_like("routing.%"),
            )
            .limit(1)
        )
        return found is not None

    def first_handled(self, ticket_ids: Collection[int]) -> dict[int, datetime]:
        if not ticket_ids:
            return {}
        listed = Ticket.id.in_(bindparam("handled_ids", sorted(ticket_ids), literal_execute=True))
        rows = self.session.execute(
            select(Ticket.id, Ticket.first_response_at, Ticket.resolved_at).where(listed)
        )
        handled: dict[int, datetime] = {}
        for ticket_id, first, resolved in rows:
            moment = first or resolved
            if moment is not None:
                handled[int(ticket_id)] = moment
        return handled
