"""Every query of the routing domain."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select
from sqlalchemy.orm import Session

from relaydesk.routing.enums import OfferState
from relaydesk.routing.models import RoutingOffer, RoutingState
from relaydesk.tickets.enums import Channel, QueueKind

__all__ = ["QueueFit", "RoutingRepository"]

ROUTED_QUEUES = (QueueKind.LIVE, QueueKind.MESSAGING)


class RoutingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- states -------------------------------------------------------------------------------------

    def state(self, ticket_id: int, *, fresh: bool = False) -> RoutingState | None:
        # ``fresh``: re-read after taking the ticket's lock, so a concurrent assignment is seen.
        return self.session.get(RoutingState, ticket_id, populate_existing=fresh)

    def waiting_in_order(
        self, queues: Sequence[QueueKind], *, offset: int, limit: int, fit: QueueFit | None = None
    ) -> Sequence[RoutingState]:
        """Waiting tickets, best first: the queue order (``ORDER``), walked down the queue index (same
        columns, same directions) and stopped at the limit; with ``fit``, only those the agent may take."""
        stmt = select(RoutingState).where(
            RoutingState.queue.in_(list(queues)), RoutingState.waiting.is_(True)
        )
        if fit is not None:
            stmt = stmt.where(*fit.conditions())
        return self.session.scalars(stmt.order_by(*ORDER).offset(offset).limit(limit)).all()

    def ahead_of(self, state: RoutingState) -> Sequence[int]:
        """Ids of the tickets waiting before this one in its queue."""
        s = RoutingState
        same_vip = s.vip.is_(state.vip)
        # Within a priority, a VIP is ahead of a non-VIP (and nothing is ahead of a VIP on that count).
        vip_ahead = s.vip.is_(True) if not state.vip else false()
        before = or_(
            s.priority_rank > state.priority_rank,
            and_(s.priority_rank == state.priority_rank, vip_ahead),
            and_(s.priority_rank == state.priority_rank, same_vip, s.due_at < state.due_at),
            and_(
                s.priority_rank == state.priority_rank,
                same_vip,
                s.due_at == state.due_at,
                s.ticket_id < state.ticket_id,
            ),
        )
        return self.session.scalars(
            select(s.ticket_id).where(s.queue == state.queue, s.waiting.is_(True), before)
        ).all()

    def oldest_waiting(self, queue: QueueKind, *, offset: int, limit: int) -> Sequence[RoutingState]:
        """Waiting tickets of the queue, the longest waiting first (the supervisor's list, not the queue
        order)."""
        return self.session.scalars(
            select(RoutingState)
            .where(RoutingState.queue == queue, RoutingState.waiting.is_(True))
            .order_by(RoutingState.queued_at, RoutingState.ticket_id)
            .offset(offset)
            .limit(limit)
        ).all()

    def waiting_ids(self, queue: QueueKind) -> Sequence[tuple[int, datetime]]:
        rows = self.session.execute(
            select(RoutingState.ticket_id, RoutingState.queued_at).where(
                RoutingState.queue == queue, RoutingState.waiting.is_(True)
            )
        )
        return [(int(r[0]), r[1]) for r in rows]

    def mark_not_waiting(self, ticket_ids: Collection[int]) -> None:
        for state in self.session.scalars(
            select(RoutingState).where(RoutingState.ticket_id.in_(list(ticket_ids)))
        ):
            state.waiting = False
            state.overflow_due_at = None

    def waiting_of_customer(self, customer_id: int) -> Sequence[int]:
        return self.session.scalars(
            select(RoutingState.ticket_id).where(
                RoutingState.customer_id == customer_id, RoutingState.waiting.is_(True)
            )
        ).all()

    def recently_assigned(self, queue: QueueKind, limit: int) -> Sequence[tuple[int, datetime]]:
        rows = self.session.execute(
            select(RoutingState.ticket_id, RoutingState.assigned_at)
            .where(RoutingState.queue == queue, RoutingState.assigned_at.is_not(None))
            .order_by(RoutingState.assigned_at.desc())
            .limit(limit)
        )
        return [(int(r[0]), r[1]) for r in rows if r[1] is not None]

    @staticmethod
    def last_assigned_sql(agent_id: ColumnElement[int]) -> ColumnElement[datetime | None]:
        """SQL for when the agent was last assigned a ticket, correlated to ``agent_id`` (one probe of
        ``ix_routing_states_assignee_id_assigned_at`` per agent)."""
        return (
            select(func.max(RoutingState.assigned_at))
            .where(RoutingState.assignee_id == agent_id)
            .scalar_subquery()
        )

    def overflow_due(self, now: datetime, limit: int) -> Sequence[RoutingState]:
        return self.session.scalars(
            select(RoutingState)
            .where(RoutingState.overflow_due_at <= now, RoutingState.waiting.is_(True))
            .order_by(RoutingState.overflow_due_at)
            .limit(limit)
        ).all()

    def reclaim_due(self, now: datetime, limit: int) -> Sequence[RoutingState]:
        return self.session.scalars(
            select(RoutingState)
            .where(RoutingState.reclaim_due_at <= now)
            .order_by(RoutingState.reclaim_due_at)
            .limit(limit)
        ).all()

    # -- offers -------------------------------------------------------------------------------------

    def offer(self, offer_id: int) -> RoutingOffer | None:
        return self.session.get(RoutingOffer, offer_id)

    def open_offer(self, ticket_id: int) -> RoutingOffer | None:
        return self.session.scalar(
            select(RoutingOffer).where(
                RoutingOffer.ticket_id == ticket_id, RoutingOffer.state == OfferState.OFFERED
            )
        )

    def open_offers_for(self, ticket_ids: Collection[int]) -> dict[int, int]:
        """ticket id -> the agent its open offer is to."""
        if not ticket_ids:
            return {}
        rows = self.session.execute(
            select(RoutingOffer.ticket_id, RoutingOffer.agent_id).where(
                RoutingOffer.ticket_id.in_(list(ticket_ids)), RoutingOffer.state == OfferState.OFFERED
            )
        )
        return {int(t): int(a) for t, a in rows}

    def open_offers_of(self, agent_id: int) -> Sequence[RoutingOffer]:
        return self.session.scalars(
            select(RoutingOffer)
            .where(RoutingOffer.agent_id == agent_id, RoutingOffer.state == OfferState.OFFERED)
            .order_by(RoutingOffer.id)
        ).all()

    def open_offer_channels(self, agent_ids: Collection[int]) -> dict[int, dict[Channel, int]]:
        """Open offers per agent and channel: an offer holds its place in the agent's load."""
        if not agent_ids:
            return {}
        rows = self.session.execute(
            select(RoutingOffer.agent_id, RoutingState.channel, func.count())
            .join(RoutingState, RoutingState.ticket_id == RoutingOffer.ticket_id)
            .where(RoutingOffer.agent_id.in_(list(agent_ids)), RoutingOffer.state == OfferState.OFFERED)
            .group_by(RoutingOffer.agent_id, RoutingState.channel)
        )
        counts: dict[int, dict[Channel, int]] = {}
        for agent_id, channel, n in rows:
            counts.setdefault(int(agent_id), {})[Channel(channel)] = int(n)
        return counts

    @staticmethod
    def offered_load_sql(
        agent_id: ColumnElement[int], weights: Mapping[Channel, int], default_weight: int
    ) -> ColumnElement[int]:
        """SQL for the weight of the agent's open offers (the same weights as assigned tickets; 0 when
        none), correlated to ``agent_id``: an offer holds its place in the agent's load."""
        weight: ColumnElement[int] = (
            case({c.value: w for c, w in weights.items()}, value=RoutingState.channel, else_=default_weight)
            if weights
            else literal(default_weight)
        )
        return (
            select(func.coalesce(func.sum(weight), 0))
            .select_from(RoutingOffer)
            .join(RoutingState, RoutingState.ticket_id == RoutingOffer.ticket_id)
            .where(RoutingOffer.agent_id == agent_id, RoutingOffer.state == OfferState.OFFERED)
            .scalar_subquery()
        )

    def outcome_counts(self, since: datetime) -> Sequence[tuple[int, OfferState, int]]:
        rows = self.session.execute(
            select(RoutingOffer.agent_id, RoutingOffer.state, func.count())
            .where(RoutingOffer.offered_at >= since)
            .group_by(RoutingOffer.agent_id, RoutingOffer.state)
        )
        return [(int(a), OfferState(s), int(n)) for a, s, n in rows]


# The queue order, in one place: priority first, VIP first within a priority, then the due time
# (the SLA's due time once SLA plugs in through ``service.due_time``; until then the time queued).
ORDER = (
    RoutingState.priority_rank.desc(),
    RoutingState.vip.desc(),
    RoutingState.due_at,
    RoutingState.ticket_id,
)


@dataclass(frozen=True)
class QueueFit:
    """What one agent can take, so the queue read skips the rest in the database (pull).

    A superset of eligibility on the columns copied into ``routing_states``: what depends on the policy
    (secondary skills after overflow), on a parent team, or on the ticket's exclusions is left for
    ``service._fits`` to decide on the rows returned.
    """

    tier_level: int
    languages: Collection[str]
    skills: Mapping[str, int]
    team_ids: Collection[int]
    # The channels where one more ticket stays within the agent's capacity.
    channels: Collection[Channel]

    def conditions(self) -> list[ColumnElement[bool]]:
        s = RoutingState
        held = [and_(s.skill == skill, s.min_level <= level) for skill, level in self.skills.items()]
        conditions = [
            s.tier_level <= self.tier_level,
            s.channel.in_(list(self.channels)),
            # Before overflow, the category's skill at its level; after it, secondary skills may count.
            or_(s.skill.is_(None), s.overflow_stage >= 1, *held),
            # Before the parent-team stage, the ticket's own team; after it, maybe the parent's too.
            or_(s.team_id.is_(None), s.overflow_stage >= 2, s.team_id.in_(list(self.team_ids))),
        ]
        if self.languages:  # an agent who lists no languages is not filtered by language
            conditions.append(
                or_(s.language.is_(None), s.language == "", s.language.in_(list(self.languages)))
            )
        return conditions
