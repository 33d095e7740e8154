"""Business logic of the tickets domain. Every change writes its event in the same transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.auth.roles import Principal
from relaydesk.customers import service as customers
from relaydesk.jobs import JobLane, enqueue
from relaydesk.kit.errors import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.pagination import after_id_from_cursor, decode_cursor, encode_cursor
from relaydesk.kit.time import utcnow
from relaydesk.tickets.attachments import safe_filename, store_file
from relaydesk.tickets.destination import choose_recipient
from relaydesk.tickets.enums import (
    AuthorKind,
    Channel,
    DeliveryState,
    Priority,
    QueueKind,
    TicketSort,
    TicketStatus,
)
from relaydesk.tickets.events import SLA_FOLLOW_JOB as SLA_FOLLOW_JOB  # public: SLA registers it
from relaydesk.tickets.events import Actor as Actor  # public: other domains name who acted
from relaydesk.tickets.events import announce
from relaydesk.tickets.events import record_event as record_event  # public
from relaydesk.tickets.events import record_events as record_events  # public: batch writers
from relaydesk.tickets.models import Attachment, Message, Ticket, TicketEvent
from relaydesk.tickets.repository import TicketFilters as TicketFilters  # public: list_tickets' filters
from relaydesk.tickets.repository import TicketRepository, sort_position
from relaydesk.tickets.schemas import MessageCreate, StatusChange, TicketCreate, TicketUpdate
from relaydesk.tickets.status import check_transition

if TYPE_CHECKING:
    from relaydesk.customers.models import Customer

__all__ = [
    "DELIVER_JOB",
    "INBOUND_MESSAGE_JOB",
    "ROUTING_FOLLOW_JOB",
    "SLA_FOLLOW_JOB",
    "TicketFilters",
    "add_agent_message",
    "add_customer_message",
    "attach_file",
    "change_status",
    "count_tickets",
    "create_ticket",
    "customers_with_hidden_tickets",
    "events_after",
    "file_ticket",
    "get_visible_ticket",
    "hidden_team_ids",
    "latest_inbound_message",
    "list_events",
    "list_messages",
    "list_tickets",
    "lock_ticket",
    "open_ticket",
    "open_ticket_for_customer",
    "reassign_customer",
    "record_events",
    "tickets_by_id",
    "update_ticket",
]

# The channels domain delivers public replies; the job name is the contract between the two.
DELIVER_JOB = "channels.deliver_message"

# Triage collects (or asks the customer for) what a category needs once the category is known.
CATEGORY_SET_JOB = "triage.request_required_fields"

# Routing keeps its own copy of what orders and matches a routed ticket (its queue state); whenever
# such a ticket's routing facts change here (status, priority, queue, assignee, team, category,
# language, escalation level, customer), this job tells routing, so the queue follows the ticket and
# a ticket taken another way leaves it. Routing's own moves (``assign_ticket``, ``return_to_queue``)
# do not send it: routing already knows.
ROUTING_FOLLOW_JOB = "routing.follow_ticket"
_ROUTING_FACTS = frozenset(
    {"priority", "queue", "assignee_id", "team_id", "category", "language", "escalation_level"}
)
_ROUTED_QUEUES = frozenset({QueueKind.LIVE, QueueKind.MESSAGING})

# The customer is watching these conversations now: their replies go in the live job lane, ahead of
# triage and model work (see jobs/README.md, "Lanes").
_LIVE_CHANNELS = frozenset({Channel.WEB_CHAT, Channel.IN_APP})

# Channels a reply can actually leave through; "internal" and "api" are not customer channels.
_REPLY_CHANNELS = frozenset(Channel) - {Channel.INTERNAL}


def hidden_team_ids(session: Session, principal: Principal) -> set[int]:
    return {tid for tid in agents.restricted_team_ids(session) if not principal.can_see_restricted_team(tid)}


def get_visible_ticket(session: Session, ticket_id: int, principal: Principal) -> Ticket:
    ticket = TicketRepository(session).get(ticket_id)
    # A restricted ticket answers 404 like a missing one, so its existence does not leak.
    if ticket is None or (
        ticket.team_id is not None and ticket.team_id in hidden_team_ids(session, principal)
    ):
        raise NotFoundError(f"No ticket with id {ticket_id}.")
    return ticket


def _resolve_customer(session: Session, data: TicketCreate) -> Customer:
    ref = data.customer
    if ref.id is not None:
        return customers.get_customer(session, ref.id)
    if ref.kind is None or not ref.value:
        raise ValidationFailedError("Name the customer by 'id', or by an identity 'kind' and 'value'.")
    return customers.get_or_create_by_identity(session, ref.kind, ref.value, name=ref.name)


# Every stored customer message goes through this one job (flags, deflection, triage, the missing-
# information loop; its order lives in triage/pipeline.py). Intake enqueues it for each message it
# stores; ``file_ticket`` for a ticket filed through the API.
INBOUND_MESSAGE_JOB = "triage.process_inbound"


def create_ticket(session: Session, data: TicketCreate, actor: Actor) -> Ticket:
    return open_ticket(session, data, actor)[0]


def file_ticket(session: Session, data: TicketCreate, actor: Actor) -> Ticket:
    """A ticket filed through the API: opened, then triaged like one that came in on a channel."""
    ticket, message = open_ticket(session, data, actor)
    enqueue(session, INBOUND_MESSAGE_JOB, message_id=message.id)
    return ticket


def open_ticket(
    session: Session,
    data: TicketCreate,
    actor: Actor,
    *,
    body_html: str | None = None,
    meta: dict[str, Any] | None = None,
    known_new: bool = False,
) -> tuple[Ticket, Message]:
    """Create a ticket with the customer's first message (stored whole: HTML and channel meta)."""
    customer = _resolve_customer(session, data)
    if data.team_id is not None:
        agents.get_team(session, data.team_id)
    ticket = Ticket(
        subject=data.subject or data.body.strip().splitlines()[0][:120],
        customer_id=customer.id,
        status=TicketStatus.NEW,
        priority=data.priority,
        category=data.category,
        team_id=data.team_id,
        channel=data.channel,
        reply_channel=data.channel,
        language=customer.language,
        flags=sorted(set(data.flags)),
        custom_fields=data.custom_fields,
        last_customer_message_at=utcnow(),
    )
    session.add(ticket)
    session.flush()
    record_event(
        session,
        ticket,
        "ticket.created",
        actor,
        {"channel": data.channel.value, "priority": data.priority.value, "customer_id": customer.id},
    )
    message = add_customer_message(
        session,
        ticket,
        body=data.body,
        channel=data.channel,
        provider_message_id=data.provider_message_id,
        body_html=body_html,
        meta=meta,
        known_new=known_new,
    )
    return ticket, message


def list_tickets(
    session: Session,
    principal: Principal,
    filters: TicketFilters,
    *,
    cursor: str | None,
    limit: int,
    sort: TicketSort = TicketSort.NEWEST,
) -> tuple[list[Ticket], str | None]:
    """A page of the tickets ``principal`` may see, in ``sort`` order, after ``cursor``."""
    after = _cursor_position(cursor, sort)
    rows = list(
        TicketRepository(session).page(
            filters,
            hidden_team_ids=hidden_team_ids(session, principal),
            limit=limit + 1,
            sort=sort,
            after=after,
        )
    )
    next_cursor = encode_cursor(sort_position(rows[limit - 1], sort)) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _cursor_position(cursor: str | None, sort: TicketSort) -> dict[str, int] | None:
    if not cursor:
        return None
    after_id = after_id_from_cursor(cursor)  # checks the cursor and its id
    assert after_id is not None
    position = decode_cursor(cursor)
    if sort is TicketSort.PRIORITY:
        rank = position.get("rank")
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < len(Priority):
            raise BadRequestError(
                "The cursor is not valid for this order; pass the next_cursor value from the previous "
                "page unchanged, with the same sort."
            )
        return {"id": after_id, "rank": rank}
    return {"id": after_id}


def count_tickets(session: Session, principal: Principal, filters: TicketFilters) -> int:
    """How many tickets ``principal`` may see match ``filters`` (an inbox view's count)."""
    return TicketRepository(session).count(filters, hidden_team_ids=hidden_team_ids(session, principal))


def _event_kind(field: str) -> str:
    return {
        "assignee_id": "ticket.assigned",
        "team_id": "ticket.team_changed",
        "escalation_level": "ticket.escalation_level_changed",
        "priority": "ticket.priority_changed",
        "category": "ticket.category_changed",
    }.get(field, "ticket.updated")


def update_ticket(session: Session, ticket: Ticket, data: TicketUpdate, actor: Actor) -> Ticket:
    return _update_ticket(session, ticket, data, actor, tell_routing=True)


def _tell_routing(session: Session, ticket: Ticket, *, was_routed: bool = False) -> None:
    """Enqueue ``ROUTING_FOLLOW_JOB`` for a ticket that is (or was, before this change) in a routed queue."""
    if was_routed or ticket.queue in _ROUTED_QUEUES:
        enqueue(session, ROUTING_FOLLOW_JOB, ticket_id=ticket.id)


def _update_ticket(
    session: Session, ticket: Ticket, data: TicketUpdate, actor: Actor, *, tell_routing: bool
) -> Ticket:
    if ticket.status is TicketStatus.CLOSED:
        raise ConflictError("Closed tickets cannot be changed; open a follow-up ticket instead.")
    if data.version is not None and data.version != ticket.version:
        raise ConflictError(
            f"The ticket changed since you loaded it (version {data.version}, now {ticket.version}); "
            "reload it and apply your change again.",
            details={"current_version": ticket.version},
        )
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "version"})
    if changes.get("team_id") is not None:
        agents.get_team(session, changes["team_id"])
    if changes.get("assignee_id") is not None:
        assignee = agents.get_agent(session, changes["assignee_id"])
        if not assignee.active:
            raise ValidationFailedError(f"Agent {assignee.id} is deactivated and cannot take tickets.")
    if changes.get("reply_channel") is not None and changes["reply_channel"] not in _REPLY_CHANNELS:
        raise ValidationFailedError("Replies cannot be sent on the internal channel.")
    if "flags" in changes and changes["flags"] is not None:
        changes["flags"] = sorted(set(changes["flags"]))
    was_routed = ticket.queue in _ROUTED_QUEUES
    routing_facts_changed = False
    for field, new in changes.items():
        old = getattr(ticket, field)
        if new == old or (new is None and field not in {"team_id", "assignee_id", "category", "queue"}):
            continue
        setattr(ticket, field, new)
        routing_facts_changed = routing_facts_changed or field in _ROUTING_FACTS
        if field == "category" and new:
            enqueue(session, CATEGORY_SET_JOB, ticket_id=ticket.id)
        record_event(
            session,
            ticket,
            _event_kind(field),
            actor,
            {"field": field, "from": _plain(old), "to": _plain(new), "reason": data.reason},
        )
    if tell_routing and routing_facts_changed:
        _tell_routing(session, ticket, was_routed=was_routed)
    session.flush()
    return ticket


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def change_status(session: Session, ticket: Ticket, change: StatusChange, actor: Actor) -> Ticket:
    return _change_status(session, ticket, change, actor, tell_routing=True)


def _change_status(
    session: Session, ticket: Ticket, change: StatusChange, actor: Actor, *, tell_routing: bool
) -> Ticket:
    current = TicketStatus(ticket.status)
    check_transition(current, change.status)
    now = utcnow()
    ticket.status = change.status
    if change.status is TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif change.status is TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif change.status is TicketStatus.REOPENED:
        ticket.reopen_count += 1
        ticket.resolved_at = None
    record_event(
        session,
        ticket,
        "ticket.status_changed",
        actor,
        {"from": current.value, "to": change.status.value, "reason": change.reason},
    )
    if tell_routing:
        _tell_routing(session, ticket)
    session.flush()
    return ticket


def add_agent_message(
    session: Session,
    ticket: Ticket,
    data: MessageCreate,
    agent_id: int | None,
    *,
    author_kind: AuthorKind | None = None,
) -> Message:
    """An agent's reply or note (or, with ``author_kind=BOT``, the bot's question to the customer)."""
    if ticket.status is TicketStatus.CLOSED:
        raise ConflictError("The ticket is closed; open a follow-up ticket to write to the customer again.")
    channel = Channel.INTERNAL if not data.public else (data.channel or ticket.reply_channel)
    if data.public and channel not in _REPLY_CHANNELS:
        raise ValidationFailedError("Public replies need a customer channel, not 'internal'.")
    recipient = (
        choose_recipient(
            session, ticket, channel, confirmed=data.confirm_recipient, by_agent=agent_id is not None
        )
        if data.public
        else None
    )
    message = Message(
        ticket_id=ticket.id,
        author_kind=author_kind or (AuthorKind.AGENT if agent_id is not None else AuthorKind.SYSTEM),
        author_agent_id=agent_id,
        channel=channel,
        public=data.public,
        body_text=data.body,
        # Public replies wait in the outbox until the channel confirms delivery.
        delivery_state=DeliveryState.QUEUED if data.public else DeliveryState.NOT_SENT,
        # Pinned when written: the outbox sends to this address, not to whoever wrote last.
        meta={"recipient": recipient} if recipient else {},
    )
    session.add(message)
    if data.public and ticket.first_response_at is None and agent_id is not None:
        # First response means a person answered; a bot's question does not stop that clock.
        ticket.first_response_at = utcnow()
    session.flush()
    if data.public:
        # Written in this transaction: a reply that commits is always delivered, one that rolls back never.
        enqueue(
            session,
            DELIVER_JOB,
            dedupe_key=f"deliver:{message.id}",
            lane=JobLane.LIVE if channel in _LIVE_CHANNELS else JobLane.DEFAULT,
            message_id=message.id,
        )
    actor = Actor(message.author_kind, agent_id)
    record_event(
        session,
        ticket,
        "message.added" if data.public else "note.added",
        actor,
        {"message_id": message.id, "public": data.public, "channel": channel.value},
    )
    return message


def add_customer_message(
    session: Session,
    ticket: Ticket,
    *,
    body: str,
    channel: Channel,
    provider_message_id: str | None = None,
    body_html: str | None = None,
    meta: dict[str, Any] | None = None,
    known_new: bool = False,
) -> Message:
    """Store a customer's message; a provider retry with the same id returns the stored one.

    ``known_new`` skips the duplicate lookup when the caller has just done it (intake's hot path).
    """
    repo = TicketRepository(session)
    if provider_message_id is not None and not known_new:
        existing = repo.message_by_provider_id(channel, provider_message_id)
        if existing is not None:
            return existing
    message = Message(
        ticket_id=ticket.id,
        author_kind=AuthorKind.CUSTOMER,
        author_customer_id=ticket.customer_id,
        channel=channel,
        public=True,
        body_text=body,
        body_html=body_html,
        provider_message_id=provider_message_id,
        delivery_state=DeliveryState.RECEIVED,
        meta=meta or {},
    )
    session.add(message)
    session.flush()
    repo.note_customer_message(
        ticket,
        at=utcnow(),
        # Answer where the customer last wrote.
        reply_channel=channel if channel in _REPLY_CHANNELS and channel is not Channel.API else None,
    )
    record_event(
        session,
        ticket,
        "message.added",
        Actor(AuthorKind.CUSTOMER, ticket.customer_id),
        {"message_id": message.id, "public": True, "channel": channel.value},
    )
    # The customer answering wakes a ticket that waited on them, and reopens a resolved one.
    if ticket.status is TicketStatus.PENDING_CUSTOMER:
        change_status(
            session,
            ticket,
            StatusChange(status=TicketStatus.OPEN, reason="customer replied"),
            Actor(AuthorKind.SYSTEM),
        )
    elif ticket.status is TicketStatus.RESOLVED:
        change_status(
            session,
            ticket,
            StatusChange(status=TicketStatus.REOPENED, reason="customer replied"),
            Actor(AuthorKind.SYSTEM),
        )
    return message


def reassign_customer(session: Session, from_customer_id: int, to_customer_id: int, actor: Actor) -> int:
    """Move every ticket (and authored message) of one customer record to another, with events."""
    moved = session.scalars(select(Ticket).where(Ticket.customer_id == from_customer_id)).all()
    for ticket in moved:
        ticket.customer_id = to_customer_id
        record_event(
            session, ticket, "ticket.customer_merged", actor, {"from": from_customer_id, "to": to_customer_id}
        )
        _tell_routing(session, ticket)  # the customer's tier (VIP first) orders a waiting ticket
    session.execute(
        update(Message)
        .where(Message.author_customer_id == from_customer_id)
        .values(author_customer_id=to_customer_id)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return len(moved)


def customers_with_hidden_tickets(session: Session, principal: Principal, customer_ids: set[int]) -> set[int]:
    """Those of ``customer_ids`` with a ticket in a restricted team the principal cannot see."""
    hidden = hidden_team_ids(session, principal)
    return TicketRepository(session).customers_with_tickets_in_teams(customer_ids, hidden)


def open_ticket_for_customer(session: Session, customer_id: int, *, lock: bool = False) -> Ticket | None:
    """The customer's newest ticket that is not closed: where a returning customer's message goes.

    ``lock`` holds its row until commit (intake, before it appends a message and maybe reopens it).
    """
    return TicketRepository(session).latest_unclosed_for_customer(customer_id, for_update=lock)


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket, locked until commit and re-read, so a status decided from it stays true."""
    return TicketRepository(session).get(ticket_id, for_update=True)


def latest_inbound_message(session: Session, ticket_id: int, channel: Channel) -> Message | None:
    return TicketRepository(session).latest_inbound(ticket_id, channel)


def attach_file(
    session: Session, message: Message, *, filename: str, content_type: str, payload: bytes
) -> Attachment:
    stored = store_file(payload)
    attachment = Attachment(
        message_id=message.id,
        filename=safe_filename(filename),
        content_type=content_type[:255] or "application/octet-stream",
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
    )
    session.add(attachment)
    session.flush()
    return attachment


def list_messages(session: Session, ticket: Ticket) -> list[Message]:
    return list(TicketRepository(session).messages(ticket.id, include_internal=True))


def list_events(
    session: Session, ticket: Ticket, *, cursor: str | None, limit: int
) -> tuple[list[TicketEvent], str | None]:
    after_id = after_id_from_cursor(cursor)
    rows = list(TicketRepository(session).events(ticket.id, after_id=after_id, limit=limit + 1))
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- Issue 20: what triage and deflection read and write on tickets (they reach tickets only here) ---

# The actor and the timeline writer other domains use for the events of their own workflows on a
# ticket (triage.*, deflection.*): the same ones this service uses.
# and what channels (intake, the outbox, chat, email) read and write on tickets.
__all__ += [
    "Actor",
    "SettledTicket",
    "add_custom_fields",
    "customer_conversation",
    "find_provider_message",
    "first_message_id",
    "flag_ticket",
    "get_message",
    "get_ticket",
    "latest_event",
    "record_event",
    "set_delivery_state",
    "settled_tickets",
    "update_message_meta",
]


def get_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket a job names by id (None when it was deleted since)."""
    return TicketRepository(session).get(ticket_id)


def get_message(session: Session, message_id: int) -> Message | None:
    return TicketRepository(session).message(message_id)


def first_message_id(session: Session, ticket_id: int) -> int | None:
    """The id of the message that opened the ticket."""
    return TicketRepository(session).first_message_id(ticket_id)


def latest_event(session: Session, ticket_id: int, kind: str) -> TicketEvent | None:
    return TicketRepository(session).latest_event(ticket_id, kind)


def add_custom_fields(session: Session, ticket: Ticket, values: dict[str, Any]) -> None:
    """Keep details the customer gave (an order number) among the ticket's fields; the caller records
    the event that says where they came from."""
    if values:
        ticket.custom_fields = {**ticket.custom_fields, **values}


def flag_ticket(session: Session, ticket: Ticket, flag: str, *, queue: QueueKind | None = None) -> None:
    """Add a flag (and put the ticket in ``queue``) as part of a change whose event the caller records."""
    ticket.flags = sorted({*ticket.flags, flag})
    if queue is not None:
        ticket.queue = queue


def find_provider_message(session: Session, channel: Channel, provider_message_id: str) -> Message | None:
    """The message a provider already delivered under this id (its retries carry the same one)."""
    return TicketRepository(session).message_by_provider_id(channel, provider_message_id)


def customer_conversation(
    session: Session, customer_id: int, channels: tuple[Channel, ...], *, after_id: int | None, limit: int
) -> list[Message]:
    """The customer's public messages on these channels across all their tickets, oldest first.

    What a chat widget shows: the conversation spans tickets (a new one opens when the last closed).
    """
    return TicketRepository(session).customer_conversation(
        customer_id, channels, after_id=after_id, limit=limit
    )


def set_delivery_state(
    session: Session, message: Message, state: DeliveryState, *, provider_delivery_id: str | None = None
) -> None:
    """Record how the outbox's delivery of a public reply went (and the provider's id for it)."""
    message.delivery_state = state
    if provider_delivery_id:
        message.meta = {**message.meta, "provider_delivery_id": provider_delivery_id}
    announce(session, message.ticket_id, "message.delivery", {"message_id": message.id, "state": state.value})


def update_message_meta(session: Session, message: Message, values: dict[str, Any]) -> None:
    """Merge ``values`` into a message's channel metadata (what a widget shows beside it)."""
    message.meta = {**message.meta, **values}


@dataclass(frozen=True)
class SettledTicket:
    """A ticket as training data: its subject and first customer message, and the value people set."""

    ticket_id: int
    subject: str
    first_message: str
    value: str  # category, priority value, or team id as text
    listed: bool  # named in the caller's ``also_ticket_ids``


def settled_tickets(
    session: Session, field_name: str, *, also_ticket_ids: Collection[int], limit: int
) -> list[SettledTicket]:
    """Newest resolved/closed tickets with a value for ``field_name`` (category, priority or team),
    plus those in ``also_ticket_ids`` whatever their status."""
    rows = TicketRepository(session).settled_with_first_message(
        field_name, also_ticket_ids=also_ticket_ids, limit=limit
    )
    return [
        SettledTicket(ticket_id, subject, body, str(getattr(value, "value", value)), listed)
        for ticket_id, subject, body, value, listed in rows
    ]


# -- Phone callbacks and call events (channels.phone) -------------------------------------------------


def tickets_in_queue(session: Session, ticket_ids: Collection[int], queue: QueueKind) -> list[Ticket]:
    """Those of the given tickets that are in ``queue`` now (an agent may have moved them since)."""
    return list(TicketRepository(session).in_queue(ticket_ids, queue))


def move_to_queue(session: Session, ticket_id: int, queue: QueueKind) -> Ticket:
    """Put the ticket in ``queue``; the caller records the event that says why (``callback.requested``)."""
    ticket = TicketRepository(session).get(ticket_id)
    if ticket is None:
        raise NotFoundError(f"Ticket {ticket_id} not found.")
    ticket.queue = queue
    session.flush()
    return ticket


def events_of_kind(session: Session, ticket_id: int, kind: str) -> list[TicketEvent]:
    """The ticket's events of one kind, oldest first (a provider's retry is found among them)."""
    return list(TicketRepository(session).events_of_kind(ticket_id, kind))


# -- Routing (issue 21): assignment, load and the facts the router reads ------------------------------

__all__ += [
    "agent_acted_since",
    "assign_ticket",
    "assigned_load",
    "handling_times",
    "lock_free_tickets",
    "previous_assignee",
    "return_to_queue",
    "waiting_ticket_ids",
]


def assign_ticket(session: Session, ticket: Ticket, agent_id: int, actor: Actor, reason: str) -> Ticket:
    """Give the ticket to an agent and open it (the caller holds the ticket's lock, and the agent's)."""
    _update_ticket(
        session, ticket, TicketUpdate(assignee_id=agent_id, reason=reason), actor, tell_routing=False
    )
    if ticket.status is not TicketStatus.OPEN:
        _change_status(
            session, ticket, StatusChange(status=TicketStatus.OPEN, reason=reason), actor, tell_routing=False
        )
    return ticket


def return_to_queue(session: Session, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Take the ticket from its assignee and put it back in the waiting state (status queued)."""
    _update_ticket(session, ticket, TicketUpdate(assignee_id=None, reason=reason), actor, tell_routing=False)
    if ticket.status is not TicketStatus.QUEUED:
        _change_status(
            session,
            ticket,
            StatusChange(status=TicketStatus.QUEUED, reason=reason),
            actor,
            tell_routing=False,
        )
    return ticket


def assigned_load(
    session: Session, agent_ids: Collection[int], statuses: Collection[TicketStatus]
) -> dict[int, dict[Channel, int]]:
    """How many tickets in ``statuses`` each agent holds, per channel (agents holding none are left out)."""
    return TicketRepository(session).assigned_counts(agent_ids, statuses)


def lock_free_tickets(session: Session, ticket_ids: Collection[int]) -> list[Ticket]:
    """Those of the tickets no other transaction holds, locked in id order; the held ones are skipped,
    never waited for. For work over many tickets in one transaction (routing's sweep, a pull), which so
    can never close a cycle of waits with the one-ticket paths."""
    return list(TicketRepository(session).lock_free(ticket_ids))


def assigned_load_sql(
    agent_id: ColumnElement[int],
    statuses: Collection[TicketStatus],
    weights: Mapping[Channel, int],
    default_weight: int,
) -> ColumnElement[int]:
    """SQL for one agent's weighted load from the tickets in ``statuses`` they hold (each counts its
    channel's weight, ``default_weight`` for a channel not in ``weights``; 0 when none), correlated to
    ``agent_id``, a column of the caller's query: one index probe per agent, however many agents."""
    return TicketRepository.assigned_weight_sql(agent_id, statuses, weights, default_weight)


__all__ += ["assigned_load_sql"]


def waiting_ticket_ids(session: Session, ticket_ids: Collection[int]) -> set[int]:
    """Those of the tickets that still wait for a person: queued and assigned to nobody."""
    return TicketRepository(session).waiting_ids(ticket_ids)


def previous_assignee(
    session: Session, customer_id: int, *, exclude_ticket_id: int, since: datetime
) -> int | None:
    """The agent of the customer's latest other ticket opened since ``since`` (a returning customer)."""
    return TicketRepository(session).previous_assignee(customer_id, exclude_ticket_id, since)


def agent_acted_since(session: Session, ticket_id: int, agent_id: int, since: datetime) -> bool:
    """Whether the agent did anything on the ticket (a reply, a note, a change) after ``since``;
    routing's own events (an offer accepted) do not count as working the ticket."""
    return TicketRepository(session).agent_acted_since(ticket_id, agent_id, since)


def handling_times(session: Session, ticket_ids: Collection[int]) -> dict[int, datetime]:
    """When each ticket was first handled: its first response, else its resolution (unhandled: absent)."""
    return TicketRepository(session).first_handled(ticket_ids)


# -- The agent workspace's ticket view (workspace/ticket_view.py) -------------------------------------

__all__ += ["customer_tickets"]


def customer_tickets(
    session: Session, principal: Principal, customer_id: int, *, limit: int = 20
) -> list[Ticket]:
    """The customer's tickets the principal may see, newest first (the profile's "past tickets")."""
    return list_tickets(session, principal, TicketFilters(customer_id=customer_id), cursor=None, limit=limit)[
        0
    ]


def events_after(session: Session, ticket_id: int, after_id: int) -> list[TicketEvent]:
    """The ticket's events after ``after_id``, oldest first (SLA applies them in order, once)."""
    return list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.id > after_id)
            .order_by(TicketEvent.id)
        )
    )


def tickets_by_id(session: Session, ticket_ids: Collection[int]) -> dict[int, Ticket]:
    """Many tickets in one query (a batch job writing an event on each)."""
    if not ticket_ids:
        return {}
    return {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(list(ticket_ids))))}
