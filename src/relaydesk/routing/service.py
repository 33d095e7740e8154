"""Routing: which queue a ready ticket waits in, who may take it, offers, pulls and reassignment.

Locks are always taken in one order, so two workers never deadlock: the ticket (``tickets.lock_ticket``),
then the agent (``agents.lock_agent``). The ticket's lock makes "assigned once" true; the agent's lock
makes the capacity check true until the assignment commits. On SQLite the single writer does both.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.auth.roles import Role
from relaydesk.customers import service as customers
from relaydesk.customers.enums import CustomerTier
from relaydesk.jobs import enqueue
from relaydesk.kit.errors import ConflictError, NotFoundError
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.realtime.channels import agent_channel, queue_channel
from relaydesk.realtime.fanout import publish_after_commit
from relaydesk.routing.enums import OfferState, RoutingMode
from relaydesk.routing.models import RoutingOffer, RoutingState
from relaydesk.routing.policy import RoutingPolicy, routing_policy
from relaydesk.routing.repository import ROUTED_QUEUES, QueueFit, RoutingRepository
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, EscalationLevel, Priority, QueueKind, TicketStatus

if TYPE_CHECKING:
    from relaydesk.agents.models import Agent
    from relaydesk.tickets.models import Ticket

__all__ = [
    "EXPIRE_OFFER_JOB",
    "NEEDS_TRIAGE_FLAG",
    "AgentLoad",
    "CapacityExceededError",
    "LevelRequirement",
    "OfferNotOpenError",
    "OfferOutcomes",
    "QueueOverview",
    "RoutingDecision",
    "SweepResult",
    "WaitingTicket",
    "accept_offer",
    "agent_loads",
    "choose_queue",
    "decline_offer",
    "expected_wait",
    "expire_offer",
    "follow_customer",
    "follow_ticket",
    "get_offer",
    "next_ticket",
    "offer_next",
    "offer_outcomes",
    "order_key",
    "pending_offers",
    "queue_overview",
    "queue_position",
    "reassign",
    "requeue",
    "route_ticket",
    "set_due_time_source",
    "set_level_requirement_source",
    "sweep",
    "waiting_tickets",
]

EXPIRE_OFFER_JOB = "routing.expire_offer"
NEEDS_TRIAGE_FLAG = "needs_triage"  # triage's flag: a person classifies the ticket first
SYSTEM = tickets.Actor(AuthorKind.SYSTEM)
# Tickets that count towards an agent's load: the ones they are working now.
LOAD_STATUSES = (TicketStatus.OPEN, TicketStatus.REOPENED)
_SWEEP_BATCH = 200


class OfferNotOpenError(ConflictError):
    code = "offer_not_open"


class CapacityExceededError(ConflictError):
    code = "capacity_exceeded"


@dataclass(frozen=True)
class RoutingDecision:
    ticket_id: int
    queue: QueueKind | None
    offer_id: int | None = None
    agent_id: int | None = None
    assigned: bool = False


# --- the queue --------------------------------------------------------------------------------------


def choose_queue(
    ticket: Ticket, tier: CustomerTier, policy: RoutingPolicy, now: datetime
) -> tuple[QueueKind, str]:
    """LIVE or MESSAGING, and why (the reason goes into the ``routing.queued`` event)."""
    live = policy.live
    if ticket.priority in live.priorities:
        return QueueKind.LIVE, f"priority {ticket.priority.value}"
    if tier in live.tiers:
        return QueueKind.LIVE, f"customer tier {tier.value}"
    if ticket.channel in live.channels:
        last = ticket.last_customer_message_at
        if last is not None and now - as_utc(last) <= timedelta(minutes=live.present_minutes):
            return QueueKind.LIVE, f"{ticket.channel.value}: the customer is still there"
        return QueueKind.MESSAGING, f"{ticket.channel.value}: the customer left"
    return QueueKind.MESSAGING, f"{ticket.channel.value} is answered asynchronously"


DueTimeSource = Callable[[Session, "Ticket", datetime], datetime | None]
_due_time_source: DueTimeSource | None = None


def set_due_time_source(source: DueTimeSource | None) -> DueTimeSource | None:
    """Extension point: SLA plugs in the due time of a ticket (``source(session, ticket, queued_at)``,
    None: no target); until then tickets wait in order of age. Returns the source it replaces."""
    global _due_time_source
    previous, _due_time_source = _due_time_source, source
    return previous


def _due_time(session: Session, ticket: Ticket, queued_at: datetime) -> datetime:
    due = _due_time_source(session, ticket, queued_at) if _due_time_source is not None else None
    return due or queued_at


@dataclass(frozen=True)
class LevelRequirement:
    """Who may take a ticket at its escalation level: the least tier, and the least role (None: any)."""

    tier_level: int
    min_role: Role | None = None


LevelRequirementSource = Callable[[Session, "Ticket"], LevelRequirement | None]
_level_requirement_source: LevelRequirementSource | None = None


def set_level_requirement_source(source: LevelRequirementSource | None) -> LevelRequirementSource | None:
    """Extension point: escalation supplies what a ticket's escalation level needs of an agent (its
    path's tier and role for the level; None: the default). Until then, and by default, the level's
    rank + 1 is the least tier (frontline = 1, tier2 = 2, ...). Returns the source it replaces."""
    global _level_requirement_source
    previous, _level_requirement_source = _level_requirement_source, source
    return previous


def _level_requirement(session: Session, ticket: Ticket) -> LevelRequirement:
    found = _level_requirement_source(session, ticket) if _level_requirement_source is not None else None
    return found or LevelRequirement(ticket.escalation_level.rank + 1)


def order_key(
    priority: Priority, vip: bool, due_at: datetime, ticket_id: int
) -> tuple[int, int, datetime, int]:
    """The queue order as a sort key, smallest first: priority, VIP first within a priority, due time.

    The same order as ``repository.ORDER`` (which the database sorts by); kept together on purpose.
    """
    return (-priority.rank, 0 if vip else 1, due_at, ticket_id)


# --- routing a ticket ---------------------------------------------------------------------------------


def route_ticket(session: Session, ticket_id: int) -> RoutingDecision | None:
    """Decide the ticket's queue and offer (or assign) it to the best eligible agent.

    Idempotent: a ticket already assigned, or with an open offer, is left as it is; one that is not
    queued (an agent took it, it was resolved) is not routed. Tickets in the callback or triage queue
    stay there: phone callbacks are worked from their own list, and a ticket that needs triage is
    classified by a person first (from the needs-triage inbox; see README).
    """
    ticket = tickets.lock_ticket(session, ticket_id)
    if ticket is None or ticket.status is not TicketStatus.QUEUED or ticket.assignee_id is not None:
        return None
    # An escalated ticket (a phrase rule sent it up the ladder before triage) is routed to the level's
    # people even while it still needs a category: the needs-triage flag does not hold it back.
    held_for_triage = (
        NEEDS_TRIAGE_FLAG in ticket.flags and ticket.escalation_level is EscalationLevel.FRONTLINE
    )
    if ticket.queue in (QueueKind.CALLBACK, QueueKind.TRIAGE) or held_for_triage:
        return RoutingDecision(ticket.id, ticket.queue)
    policy = routing_policy()
    now = utcnow()
    customer = customers.get_customer(session, ticket.customer_id)
    queue, why = choose_queue(ticket, customer.tier, policy, now)
    repo = RoutingRepository(session)
    state = repo.state(ticket.id, fresh=True)
    if state is None:
        state = RoutingState(ticket_id=ticket.id, queued_at=now, excluded_agent_ids=[], overflow_stage=0)
        session.add(state)
    elif not state.waiting:
        state.queued_at, state.overflow_stage = now, 0
    state.queue = queue
    state.waiting = True
    _queue_moved(session, queue)
    _copy_ticket(session, state, ticket, customer.tier, policy)
    state.assignee_id = state.assigned_at = state.reclaim_due_at = None
    _schedule_overflow(state, policy)
    if ticket.queue is not queue:
        tickets.move_to_queue(session, ticket.id, queue)
    tickets.record_event(session, ticket, "routing.queued", SYSTEM, {"queue": queue.value, "reason": why})
    session.flush()
    return _dispatch(session, ticket, state, policy)


def _copy_ticket(
    session: Session, state: RoutingState, ticket: Ticket, tier: CustomerTier, policy: RoutingPolicy
) -> None:
    """Copy what orders the ticket in its queue and what eligibility needs onto its routing state."""
    rule = policy.categories.get(ticket.category or "")
    state.channel = ticket.channel
    state.priority_rank = ticket.priority.rank
    state.vip = tier is CustomerTier.VIP
    state.due_at = _due_time(session, ticket, state.queued_at)
    state.customer_id = ticket.customer_id
    state.team_id = ticket.team_id
    state.skill = rule.skill if rule else None
    state.min_level = rule.min_level if rule else 1
    state.language = ticket.language
    requirement = _level_requirement(session, ticket)
    state.tier_level, state.min_role = requirement.tier_level, requirement.min_role


def offer_next(session: Session, ticket: Ticket) -> RoutingDecision:
    """Offer the waiting ticket to the best eligible agent it was not already offered to (or assign it,
    in ``assign`` mode); without one it keeps waiting. The caller holds the ticket's lock."""
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is None or not state.waiting:
        return RoutingDecision(ticket.id, ticket.queue)
    return _dispatch(session, ticket, state, routing_policy())


def _dispatch(
    session: Session, ticket: Ticket, state: RoutingState, policy: RoutingPolicy, *, wait: bool = True
) -> RoutingDecision:
    """Offer (or assign) the waiting ticket; the caller holds the ticket's lock. ``wait=False`` (the
    sweep, which holds other tickets too): an agent whose row another transaction holds is not waited
    for, and the ticket keeps waiting for the next sweep (see README, Concurrency)."""
    repo = RoutingRepository(session)
    existing = repo.open_offer(ticket.id)
    if existing is not None:
        return RoutingDecision(ticket.id, state.queue, existing.id, existing.agent_id)
    now = utcnow()
    agent = _best_agent(session, state, policy, now)
    if agent is None:
        return RoutingDecision(ticket.id, state.queue)
    if policy.mode is RoutingMode.ASSIGN:
        locked = agents.lock_agent(session, agent.id) if wait else agents.lock_free_agent(session, agent.id)
        if locked is None:
            return RoutingDecision(ticket.id, state.queue)  # busy in another transaction: the next sweep
        try:
            _check_capacity(session, locked, state.channel, policy)
        except CapacityExceededError:
            return RoutingDecision(ticket.id, state.queue)  # filled up meanwhile: the sweep retries
        _assign(session, ticket, state, locked, SYSTEM, "routing.assigned", policy)
        return RoutingDecision(ticket.id, state.queue, None, agent.id, assigned=True)
    timeout = timedelta(seconds=policy.queue_rule(state.queue).offer_timeout_seconds)
    offer = RoutingOffer(
        ticket_id=ticket.id,
        agent_id=agent.id,
        state=OfferState.OFFERED,
        offered_at=now,
        expires_at=now + timeout,
    )
    session.add(offer)
    session.flush()
    enqueue(
        session, EXPIRE_OFFER_JOB, run_at=offer.expires_at, dedupe_key=f"offer:{offer.id}", offer_id=offer.id
    )
    tickets.record_event(
        session,
        ticket,
        "routing.offered",
        SYSTEM,
        {"offer_id": offer.id, "agent_id": agent.id, "expires_at": offer.expires_at.isoformat()},
    )
    publish_after_commit(
        session,
        agent_channel(agent.id),
        {
            "type": "offer",
            "offer_id": offer.id,
            "ticket_id": ticket.id,
            "subject": ticket.subject,
            "channel": ticket.channel.value,
            "priority": ticket.priority.value,
            "queue": state.queue.value,
            "expires_at": offer.expires_at.isoformat(),
        },
    )
    return RoutingDecision(ticket.id, state.queue, offer.id, agent.id)


# --- eligibility and ranking ------------------------------------------------------------------------


def _skills_for(state: RoutingState, policy: RoutingPolicy) -> dict[str, int] | None:
    """The skills (and minimum levels) that qualify for the ticket at its overflow stage."""
    if state.skill is None:
        return None
    if state.overflow_stage < 1:
        return {state.skill: state.min_level}
    rule = next((r for r in policy.categories.values() if r.skill == state.skill), None)
    lower = min(state.min_level, rule.secondary_min_level if rule else 1)
    wider = {state.skill: lower}
    for skill in rule.secondary_skills if rule else []:
        wider.setdefault(skill, rule.secondary_min_level if rule else 1)
    return wider


def _teams_for(state: RoutingState, parent_of: Callable[[int], int | None]) -> set[int] | None:
    if state.team_id is None:
        return None
    teams = {state.team_id}
    # The parent is looked up only at the stage that widens to it.
    parent = parent_of(state.team_id) if state.overflow_stage >= 2 else None
    if parent is not None:
        teams.add(parent)
    return teams


def _fits(
    agent: Agent, state: RoutingState, policy: RoutingPolicy, parent_of: Callable[[int], int | None]
) -> bool:
    """Skill, language, tier and team: whether the agent may work this ticket at all."""
    skills = _skills_for(state, policy)
    if skills is not None:
        held = {s.skill: s.level for s in agent.skills}
        if not any(held.get(skill, 0) >= level for skill, level in skills.items()):
            return False
    # An agent who lists no languages is not filtered by language (nothing is known either way).
    if state.language and agent.languages and state.language.lower() not in agent.languages:
        return False
    if agent.tier_level < state.tier_level:
        return False
    if state.min_role is not None and not Role(agent.role).at_least(state.min_role):
        return False
    teams = _teams_for(state, parent_of)
    return teams is None or bool(teams & set(agent.team_ids))


def _capacity(agent: Agent, channel: Channel, policy: RoutingPolicy) -> int:
    configured = agent.capacity.get(channel.value)
    return int(configured) if configured is not None else policy.default_capacity.get(channel, 0)


def _weighted(counts: dict[Channel, int], policy: RoutingPolicy) -> int:
    return sum(policy.weight(channel) * n for channel, n in counts.items())


def _loads(
    session: Session, agent_ids: Sequence[int], policy: RoutingPolicy, *, offers: bool
) -> dict[int, int]:
    """Each agent's weighted load: open assigned tickets (and, with ``offers``, open offers)."""
    assigned = tickets.assigned_load(session, agent_ids, LOAD_STATUSES)
    pending = RoutingRepository(session).open_offer_channels(agent_ids) if offers else {}
    return {
        agent_id: _weighted(assigned.get(agent_id, {}), policy) + _weighted(pending.get(agent_id, {}), policy)
        for agent_id in agent_ids
    }


def _best_agent(
    session: Session, state: RoutingState, policy: RoutingPolicy, now: datetime
) -> agents.RoutingCandidate | None:
    """The agent to offer (or assign) the ticket to, chosen in one query by the agents domain: it
    filters eligibility and room on the channel, weighs each candidate's load (open tickets and open
    offers) and orders them; working hours are checked on the rows it returns."""
    need = agents.RoutingNeed(
        skills=_skills_for(state, policy),
        language=state.language,
        min_tier_level=state.tier_level,
        team_ids=_teams_for(state, functools.partial(agents.parent_team_id, session)),
        channel=state.channel.value,
        adds=policy.weight(state.channel),
        default_capacity=policy.default_capacity.get(state.channel, 0),
        exclude_ids=state.excluded_agent_ids or [],
        min_role=Role(state.min_role) if state.min_role is not None else None,
    )
    found = agents.routing_candidates(
        session,
        need,
        load=functools.partial(_load_sql, policy=policy),
        busy_since=RoutingRepository.last_assigned_sql,
        prefer_id=_previous_agent(session, state, policy, now),
        at=now,
    )
    return found[0] if found else None


def _load_sql(agent_id: ColumnElement[int], *, policy: RoutingPolicy) -> ColumnElement[int]:
    """``_loads(..., offers=True)`` as SQL for one agent of a query: open tickets and open offers."""
    weights, default = policy.weights, policy.default_weight
    return tickets.assigned_load_sql(
        agent_id, LOAD_STATUSES, weights, default
    ) + RoutingRepository.offered_load_sql(agent_id, weights, default)


def _previous_agent(
    session: Session, state: RoutingState, policy: RoutingPolicy, now: datetime
) -> int | None:
    if policy.previous_agent_days == 0:
        return None
    return tickets.previous_assignee(
        session,
        state.customer_id,
        exclude_ticket_id=state.ticket_id,
        since=now - timedelta(days=policy.previous_agent_days),
    )


def _check_capacity(session: Session, agent: Agent, channel: Channel, policy: RoutingPolicy) -> None:
    """The hard check, under the agent's lock: assigned work only (open offers are not yet work)."""
    load = _loads(session, [agent.id], policy, offers=False)[agent.id]
    capacity = _capacity(agent, channel, policy)
    if load + policy.weight(channel) > capacity:
        raise CapacityExceededError(
            f"Agent {agent.id} is at capacity for {channel.value} (load {load} of {capacity}, this ticket "
            f"adds {policy.weight(channel)}); finish or hand over a conversation first.",
            details={"load": load, "capacity": capacity, "channel": channel.value},
        )


def _assign(
    session: Session,
    ticket: Ticket,
    state: RoutingState,
    agent: Agent,
    actor: tickets.Actor,
    kind: str,
    policy: RoutingPolicy,
    data: dict[str, object] | None = None,
) -> None:
    tickets.assign_ticket(session, ticket, agent.id, actor, reason=kind)
    if state.waiting:
        _queue_moved(session, state.queue)
    # Stamped after the assignment's own events, so "acted since" counts only what comes next.
    now = utcnow()
    state.waiting = False
    state.overflow_due_at = None
    state.assignee_id = agent.id
    state.assigned_at = now
    reclaim = policy.queue_rule(state.queue).reclaim_after_minutes if state.queue in ROUTED_QUEUES else None
    state.reclaim_due_at = now + timedelta(minutes=reclaim) if reclaim else None
    tickets.record_event(
        session, ticket, kind, actor, {"agent_id": agent.id, "queue": state.queue.value, **(data or {})}
    )
    publish_after_commit(
        session,
        agent_channel(agent.id),
        {"type": "assigned", "ticket_id": ticket.id, "subject": ticket.subject},
    )


def _queue_moved(session: Session, queue: QueueKind) -> None:
    """A ticket joined or left the queue: after commit, whoever shows a place in it re-reads it (the
    chat widget's waiting notice). One event per queue and transaction."""
    publish_after_commit(session, queue_channel(queue.value), {"type": "queue_moved", "queue": queue.value})


def _schedule_overflow(state: RoutingState, policy: RoutingPolicy) -> None:
    rule = policy.queue_rule(state.queue)
    steps = [rule.widen_skills_after_minutes, rule.parent_team_after_minutes]
    upcoming = [m for stage, m in enumerate(steps, start=1) if m is not None and stage > state.overflow_stage]
    state.overflow_due_at = as_utc(state.queued_at) + timedelta(minutes=upcoming[0]) if upcoming else None


# --- offers -----------------------------------------------------------------------------------------


def get_offer(session: Session, offer_id: int) -> RoutingOffer:
    offer = RoutingRepository(session).offer(offer_id)
    if offer is None:
        raise NotFoundError(f"No offer with id {offer_id}.")
    return offer


def pending_offers(session: Session, agent_id: int) -> list[RoutingOffer]:
    """The agent's open offers that have not run out yet, oldest first."""
    now = utcnow()
    return [o for o in RoutingRepository(session).open_offers_of(agent_id) if as_utc(o.expires_at) > now]


def _locked_offer(session: Session, offer_id: int, agent: Agent) -> tuple[RoutingOffer, Ticket]:
    offer = get_offer(session, offer_id)
    if offer.agent_id != agent.id:
        raise NotFoundError(f"No offer with id {offer_id} for you.")
    ticket = tickets.lock_ticket(session, offer.ticket_id)
    session.refresh(offer)  # re-read under the ticket's lock: another worker may have decided it
    if ticket is None:
        raise NotFoundError(f"The ticket of offer {offer_id} no longer exists.")
    if offer.state is not OfferState.OFFERED:
        raise OfferNotOpenError(
            f"Offer {offer_id} is no longer open (it was {offer.state.value}); the ticket has moved on.",
            details={"state": offer.state.value},
        )
    if as_utc(offer.expires_at) <= utcnow():
        raise OfferNotOpenError(f"Offer {offer_id} ran out at {as_utc(offer.expires_at):%H:%M:%S} UTC.")
    return offer, ticket


def accept_offer(session: Session, offer_id: int, agent: Agent) -> Ticket:
    """Take the offered ticket: 409 when the offer is no longer open or it would exceed capacity."""
    offer, ticket = _locked_offer(session, offer_id, agent)
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is None or not state.waiting or ticket.assignee_id is not None:
        raise OfferNotOpenError(f"Ticket {ticket.id} was taken by someone else.")
    policy = routing_policy()
    locked = agents.lock_agent(session, agent.id)
    _check_capacity(session, locked, state.channel, policy)
    offer.state, offer.decided_at = OfferState.ACCEPTED, utcnow()
    actor = tickets.Actor(AuthorKind.AGENT, agent.id)
    tickets.record_event(
        session, ticket, "routing.accepted", actor, {"offer_id": offer.id, "agent_id": agent.id}
    )
    _assign(session, ticket, state, locked, actor, "routing.assigned", policy, {"offer_id": offer.id})
    return ticket


def decline_offer(session: Session, offer_id: int, agent: Agent, reason: str) -> RoutingDecision:
    """Turn the offer down; the ticket is offered to the next eligible agent."""
    offer, ticket = _locked_offer(session, offer_id, agent)
    offer.state, offer.decided_at, offer.reason = OfferState.DECLINED, utcnow(), reason[:500]
    actor = tickets.Actor(AuthorKind.AGENT, agent.id)
    tickets.record_event(
        session,
        ticket,
        "routing.declined",
        actor,
        {"offer_id": offer.id, "agent_id": agent.id, "reason": reason},
    )
    return _move_on(session, ticket, offer.agent_id)


def expire_offer(session: Session, offer_id: int) -> RoutingDecision | None:
    """The expiry job: an offer nobody answered in time moves to the next agent (idempotent)."""
    offer = RoutingRepository(session).offer(offer_id)
    if offer is None:
        return None
    ticket = tickets.lock_ticket(session, offer.ticket_id)
    session.refresh(offer)
    if ticket is None or offer.state is not OfferState.OFFERED:
        return None
    if as_utc(offer.expires_at) > utcnow():
        return None  # not yet (a clock set back); the job for its time is already queued
    offer.state, offer.decided_at = OfferState.EXPIRED, utcnow()
    tickets.record_event(
        session, ticket, "routing.expired", SYSTEM, {"offer_id": offer.id, "agent_id": offer.agent_id}
    )
    publish_after_commit(
        session,
        agent_channel(offer.agent_id),
        {"type": "offer_withdrawn", "offer_id": offer.id, "ticket_id": ticket.id},
    )
    return _move_on(session, ticket, offer.agent_id)


def _move_on(session: Session, ticket: Ticket, agent_id: int) -> RoutingDecision:
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is None:
        return RoutingDecision(ticket.id, ticket.queue)
    state.excluded_agent_ids = sorted({*(state.excluded_agent_ids or []), agent_id})
    session.flush()
    if not state.waiting or ticket.status is not TicketStatus.QUEUED or ticket.assignee_id is not None:
        return RoutingDecision(ticket.id, ticket.queue)
    return _dispatch(session, ticket, state, routing_policy())


def _cancel_open_offer(session: Session, ticket: Ticket, reason: str) -> None:
    offer = RoutingRepository(session).open_offer(ticket.id)
    if offer is not None:
        offer.state, offer.decided_at, offer.reason = OfferState.CANCELLED, utcnow(), reason
        tickets.record_event(
            session, ticket, "routing.offer_cancelled", SYSTEM, {"offer_id": offer.id, "reason": reason}
        )
        publish_after_commit(
            session,
            agent_channel(offer.agent_id),
            {"type": "offer_withdrawn", "offer_id": offer.id, "ticket_id": ticket.id},
        )
        session.flush()


# --- pull: "next ticket" ----------------------------------------------------------------------------

_PULL_PAGE = 20
_PULL_MAX_SCAN = 2000


def next_ticket(session: Session, agent: Agent) -> Ticket | None:
    """Take the best waiting ticket the agent may work (live queue first) and assign it; None when
    nothing fits. A ticket offered to someone else is taken too: the pull wins, the offer is cancelled."""
    policy = routing_policy()
    repo = RoutingRepository(session)
    parent_of = functools.partial(agents.parent_team_id, session)
    load = _loads(session, [agent.id], policy, offers=False)[agent.id]
    fit = QueueFit(
        tier_level=agent.tier_level,
        languages=agent.languages,
        skills={s.skill: s.level for s in agent.skills},
        team_ids=agent.team_ids,
        channels=[c for c in Channel if load + policy.weight(c) <= _capacity(agent, c, policy)],
    )
    if not fit.channels:
        return None  # at capacity everywhere
    for queues in ((QueueKind.LIVE,), (QueueKind.MESSAGING,)):
        offset = 0
        while offset < _PULL_MAX_SCAN:
            # The database skips what the agent cannot take; ``_fits`` decides the rest on the page.
            page = repo.waiting_in_order(queues, offset=offset, limit=_PULL_PAGE, fit=fit)
            if not page:
                break
            offset += len(page)
            for state in page:
                if state.ticket_id is None or agent.id in (state.excluded_agent_ids or []):
                    continue
                if not _fits(agent, state, policy, parent_of):
                    continue
                if load + policy.weight(state.channel) > _capacity(agent, state.channel, policy):
                    continue
                taken, stop = _take(session, state.ticket_id, agent, policy)
                if stop:
                    return taken
    return None


def _take(
    session: Session, ticket_id: int, agent: Agent, policy: RoutingPolicy
) -> tuple[Ticket | None, bool]:
    """(the ticket taken or None, whether to stop looking). A pull may look at several tickets before it
    takes one, so it locks each without waiting (one another transaction holds is passed by), and once
    the agent's row is locked no other ticket is locked: the one lock order (README, Concurrency)."""
    free = tickets.lock_free_tickets(session, [ticket_id])
    ticket = free[0] if free else None
    state = RoutingRepository(session).state(ticket_id, fresh=True)
    if ticket is None or state is None:
        return None, False
    if not state.waiting or ticket.status is not TicketStatus.QUEUED or ticket.assignee_id is not None:
        RoutingRepository(session).mark_not_waiting([ticket_id])  # stale: taken some other way
        return None, False
    locked = agents.lock_agent(session, agent.id)
    try:
        _check_capacity(session, locked, state.channel, policy)
    except CapacityExceededError:
        return None, True  # filled up by a parallel pull: try again later
    _cancel_open_offer(session, ticket, "pulled by another agent")
    actor = tickets.Actor(AuthorKind.AGENT, agent.id)
    _assign(session, ticket, state, locked, actor, "routing.assigned", policy, {"pulled": True})
    return ticket, True


# --- a supervisor moves a ticket ------------------------------------------------------------------


def reassign(session: Session, ticket: Ticket, agent_id: int, actor: tickets.Actor) -> Ticket:
    """Give the ticket to ``agent_id`` whatever its state (a supervisor's decision; capacity is the
    supervisor's call and is not enforced), cancelling any open offer."""
    locked_ticket = tickets.lock_ticket(session, ticket.id)
    if locked_ticket is None:
        raise NotFoundError(f"No ticket with id {ticket.id}.")
    if locked_ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise ConflictError(
            f"Ticket {ticket.id} is {locked_ticket.status.value}; reopen it before reassigning."
        )
    # Not locked: capacity is the supervisor's call here, so there is no check to keep true, and the
    # target's own request (an accept, with their activity written first) may hold their row.
    agent = agents.get_agent(session, agent_id)
    if not agent.active:
        raise ConflictError(f"Agent {agent_id} is deactivated and cannot take tickets.")
    policy = routing_policy()
    state = _state_for(session, locked_ticket)
    _cancel_open_offer(session, locked_ticket, "reassigned by a supervisor")
    previous = locked_ticket.assignee_id
    _assign(
        session, locked_ticket, state, agent, actor, "routing.reassigned", policy, {"from_agent_id": previous}
    )
    return locked_ticket


# --- the ticket changed elsewhere ------------------------------------------------------------------


def follow_ticket(session: Session, ticket_id: int) -> None:
    """Keep the ticket's routing state true to the ticket after a change made elsewhere (tickets sends
    ``tickets.ROUTING_FOLLOW_JOB``): a waiting ticket takes its new place in the queue (priority, VIP,
    queue, what eligibility needs); one resolved, closed, assigned by hand or moved out of the routed
    queues leaves the queue, and its open offer is cancelled. Idempotent."""
    ticket = tickets.lock_ticket(session, ticket_id)
    state = RoutingRepository(session).state(ticket_id, fresh=True)
    if ticket is None or state is None:
        return  # never routed, or deleted (its routing rows went with it: ON DELETE CASCADE)
    waits = (
        ticket.status is TicketStatus.QUEUED and ticket.assignee_id is None and ticket.queue in ROUTED_QUEUES
    )
    if not waits:
        _leave_queue(session, ticket, state)
    elif state.waiting:
        _requeue(session, ticket, state, routing_policy())
    # A waiting ticket routing does not hold (put back in the queue by hand) is routed when it is
    # released for routing (``routing.route_ticket``), not here.


def _leave_queue(session: Session, ticket: Ticket, state: RoutingState) -> None:
    by_hand = ticket.assignee_id is not None and ticket.assignee_id != state.assignee_id
    if by_hand:
        reason = f"assigned by hand to agent {ticket.assignee_id}"
    elif ticket.queue not in ROUTED_QUEUES:
        reason = f"moved to the {ticket.queue.value if ticket.queue else 'no'} queue"
    else:
        reason = f"the ticket is {ticket.status.value}"
    _cancel_open_offer(session, ticket, reason)
    if by_hand:
        # Taken from the queue (or from its routed assignee) by a person: an assignment all the same,
        # for the queue's handling times and the agent's idle time; routing's reclaim is not for it.
        state.assignee_id, state.assigned_at = ticket.assignee_id, utcnow()
    if by_hand or ticket.assignee_id is None or ticket.status not in LOAD_STATUSES:
        state.reclaim_due_at = None
    state.waiting = False
    state.overflow_due_at = None
    _queue_moved(session, state.queue)
    session.flush()


def _requeue(session: Session, ticket: Ticket, state: RoutingState, policy: RoutingPolicy) -> None:
    tier = customers.get_customer(session, ticket.customer_id).tier
    queue, why = state.queue, ""
    if ticket.queue is not None and ticket.queue is not state.queue:
        queue, why = ticket.queue, "moved by hand"
    elif ticket.priority.rank != state.priority_rank or (tier is CustomerTier.VIP) != state.vip:
        # The policy puts urgent and VIP work in the live queue: a change of either is decided again.
        queue, why = choose_queue(ticket, tier, policy, utcnow())
    _copy_ticket(session, state, ticket, tier, policy)
    if queue is not state.queue:
        state.queue = queue
        if ticket.queue is not queue:
            tickets.move_to_queue(session, ticket.id, queue)
        tickets.record_event(session, ticket, "routing.queued", SYSTEM, {"queue": queue.value, "reason": why})
    _schedule_overflow(state, policy)
    offer = RoutingRepository(session).open_offer(ticket.id)
    if offer is not None:
        offered_to = agents.get_agent(session, offer.agent_id)
        if not _fits(offered_to, state, policy, functools.partial(agents.parent_team_id, session)):
            _cancel_open_offer(session, ticket, "the ticket changed: the agent is no longer a match")
    session.flush()
    _dispatch(session, ticket, state, policy)  # an open offer stands; otherwise someone may fit now


def follow_customer(session: Session, customer_id: int) -> None:
    """The customer's tier changed (customers sends ``customers.ROUTING_TIER_JOB``): each of their
    waiting tickets is followed in a job of its own, so each locks one ticket (README, Concurrency)."""
    for ticket_id in RoutingRepository(session).waiting_of_customer(customer_id):
        enqueue(session, tickets.ROUTING_FOLLOW_JOB, ticket_id=ticket_id)


def requeue(session: Session, ticket_id: int, actor: tickets.Actor, reason: str) -> RoutingDecision | None:
    """Route the ticket again for what it needs now (escalation changed its level or team): an open
    offer is cancelled, an assignee loses it, and it waits afresh (no overflow, nobody excluded)."""
    ticket = tickets.lock_ticket(session, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.")
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise ConflictError(f"Ticket {ticket_id} is {ticket.status.value}; reopen it before moving it.")
    _cancel_open_offer(session, ticket, reason)
    if ticket.assignee_id is not None or ticket.status is not TicketStatus.QUEUED:
        tickets.return_to_queue(session, ticket, actor, reason)
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is not None:
        # Not waiting: route_ticket starts its wait now, at overflow stage 0.
        state.waiting, state.excluded_agent_ids = False, []
        session.flush()
    return route_ticket(session, ticket.id)


def return_to_queue(session: Session, ticket: Ticket, actor: tickets.Actor) -> RoutingDecision:
    """Put the ticket back in its queue (a supervisor's decision): its assignee loses it, an open offer is
    withdrawn, and it is offered again to the best eligible agent other than them. A ticket that was
    waiting keeps its place (its time queued); one that was assigned queues from now, as a reclaim does."""
    locked_ticket = tickets.lock_ticket(session, ticket.id)
    if locked_ticket is None:
        raise NotFoundError(f"No ticket with id {ticket.id}.")
    if locked_ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise ConflictError(
            f"Ticket {ticket.id} is {locked_ticket.status.value}; "
            "reopen it before putting it back in a queue."
        )
    policy = routing_policy()
    state = _state_for(session, locked_ticket)
    offer = RoutingRepository(session).open_offer(locked_ticket.id)
    _cancel_open_offer(session, locked_ticket, "returned to the queue by a supervisor")
    previous = locked_ticket.assignee_id
    left_out = {a for a in (previous, offer.agent_id if offer else None) if a is not None}
    if previous is not None:
        tickets.return_to_queue(session, locked_ticket, actor, reason="routing.requeued")
        state.queued_at = utcnow()
        publish_after_commit(
            session, agent_channel(previous), {"type": "unassigned", "ticket_id": locked_ticket.id}
        )
    elif locked_ticket.status is not TicketStatus.QUEUED:
        tickets.return_to_queue(session, locked_ticket, actor, reason="routing.requeued")
    if locked_ticket.queue is None:  # never routed: it joins the queue its state names
        tickets.move_to_queue(session, locked_ticket.id, state.queue)
    state.waiting, state.assignee_id, state.assigned_at, state.reclaim_due_at = True, None, None, None
    _queue_moved(session, state.queue)
    state.excluded_agent_ids = sorted({*(state.excluded_agent_ids or []), *left_out})
    _schedule_overflow(state, policy)
    tickets.record_event(
        session,
        locked_ticket,
        "routing.requeued",
        actor,
        {
            "queue": state.queue.value,
            "from_agent_id": previous,
            "withdrawn_offer_id": offer.id if offer is not None else None,
        },
    )
    session.flush()
    return _dispatch(session, locked_ticket, state, policy)


def _state_for(session: Session, ticket: Ticket) -> RoutingState:
    """The ticket's routing state, made for a ticket that never went through routing (assigned by hand)."""
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is None:
        state = RoutingState(
            ticket_id=ticket.id,
            queue=ticket.queue or QueueKind.MESSAGING,
            channel=ticket.channel,
            priority_rank=ticket.priority.rank,
            vip=False,
            due_at=utcnow(),
            queued_at=utcnow(),
            customer_id=ticket.customer_id,
            team_id=ticket.team_id,
            min_level=1,
            tier_level=1,
            overflow_stage=0,
            excluded_agent_ids=[],
        )
        session.add(state)
    return state


# --- the periodic sweep: overflow and reclaim ------------------------------------------------------


@dataclass
class SweepResult:
    overflowed: list[int] = field(default_factory=list)
    reclaimed: list[int] = field(default_factory=list)
    dispatched: list[int] = field(default_factory=list)


_RETRY_BATCH = 20


def sweep(session: Session, *, limit: int = _SWEEP_BATCH) -> SweepResult:
    """Widen eligibility of tickets that waited past an overflow step, take tickets back from assignees
    who did not act in time, and offer the head of each queue again. Reads only the rows that are due
    (indexed due times) and the heads of the queues.

    It works on many tickets in one transaction, so it keeps the lock order (README, Concurrency) by
    locking all of them first, in id order, and waiting for none: a ticket (or, in ``assign`` mode, an
    agent) another transaction holds is left to that transaction and to the next sweep.
    """
    result = SweepResult()
    policy = routing_policy()
    now = utcnow()
    repo = RoutingRepository(session)
    overflow = [state.ticket_id for state in repo.overflow_due(now, limit)]
    reclaim = [state.ticket_id for state in repo.reclaim_due(now, limit)]
    retry = [
        state.ticket_id
        for queue in ROUTED_QUEUES
        for state in repo.waiting_in_order((queue,), offset=0, limit=_RETRY_BATCH)
        if repo.open_offer(state.ticket_id) is None
    ]
    locked = {
        ticket.id: ticket for ticket in tickets.lock_free_tickets(session, {*overflow, *reclaim, *retry})
    }
    for ticket_id in overflow:
        if ticket_id in locked and _overflow(session, locked[ticket_id], policy, now):
            result.overflowed.append(ticket_id)
    for ticket_id in reclaim:
        if ticket_id in locked and _reclaim(session, locked[ticket_id], policy, now):
            result.reclaimed.append(ticket_id)
    for ticket_id in retry:
        if ticket_id in locked and _retry(session, locked[ticket_id], policy):
            result.dispatched.append(ticket_id)
    return result


def _overflow(session: Session, ticket: Ticket, policy: RoutingPolicy, now: datetime) -> bool:
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if (
        state is None
        or not state.waiting
        or state.overflow_due_at is None
        or as_utc(state.overflow_due_at) > now
    ):
        return False
    state.overflow_stage += 1
    _schedule_overflow(state, policy)
    tickets.record_event(
        session,
        ticket,
        "routing.overflowed",
        SYSTEM,
        {
            "stage": state.overflow_stage,
            "widened_to": "secondary skills" if state.overflow_stage == 1 else "parent team",
        },
    )
    if ticket.status is TicketStatus.QUEUED and ticket.assignee_id is None:
        # A pending offer keeps its place; a ticket nobody could be offered gets its chance now.
        _dispatch(session, ticket, state, policy, wait=False)
    return True


def _retry(session: Session, ticket: Ticket, policy: RoutingPolicy) -> bool:
    """Offer a waiting ticket that holds no open offer (nobody was free when it arrived; an agent may
    be now). Bounded per run: the head of each queue, not the whole queue."""
    repo = RoutingRepository(session)
    state = repo.state(ticket.id, fresh=True)
    if state is None or not state.waiting or repo.open_offer(ticket.id) is not None:
        return False
    if ticket.status is not TicketStatus.QUEUED or ticket.assignee_id is not None:
        repo.mark_not_waiting([ticket.id])
        return False
    decision = _dispatch(session, ticket, state, policy, wait=False)
    return decision.offer_id is not None or decision.assigned


def _reclaim(session: Session, ticket: Ticket, policy: RoutingPolicy, now: datetime) -> bool:
    state = RoutingRepository(session).state(ticket.id, fresh=True)
    if state is None or state.reclaim_due_at is None or as_utc(state.reclaim_due_at) > now:
        return False
    state.reclaim_due_at = None
    agent_id, since = state.assignee_id, state.assigned_at
    if agent_id is None or since is None or ticket.assignee_id != agent_id:
        return False  # moved on another way since (reassigned, unassigned by hand)
    if ticket.status not in LOAD_STATUSES or tickets.agent_acted_since(
        session, ticket.id, agent_id, as_utc(since)
    ):
        return False
    minutes = policy.queue_rule(state.queue).reclaim_after_minutes
    tickets.return_to_queue(session, ticket, SYSTEM, reason="routing.reclaimed")
    team_ids = (
        [ticket.team_id] if ticket.team_id is not None else agents.get_agent(session, agent_id).team_ids
    )
    leads = sorted(
        {lead.id for team_id in team_ids for lead in agents.team_leads(session, team_id)} - {agent_id}
    )
    tickets.record_event(
        session,
        ticket,
        "routing.reclaimed",
        SYSTEM,
        {"agent_id": agent_id, "after_minutes": minutes, "told_lead_ids": leads},
    )
    for lead_id in leads:
        publish_after_commit(
            session,
            agent_channel(lead_id),
            {"type": "reclaimed", "ticket_id": ticket.id, "agent_id": agent_id, "after_minutes": minutes},
        )
    publish_after_commit(
        session,
        agent_channel(agent_id),
        {"type": "reclaimed", "ticket_id": ticket.id, "agent_id": agent_id},
    )
    state.waiting, state.assignee_id, state.assigned_at = True, None, None
    _queue_moved(session, state.queue)
    state.excluded_agent_ids = sorted({*(state.excluded_agent_ids or []), agent_id})
    state.queued_at = now
    _schedule_overflow(state, policy)
    session.flush()
    _dispatch(session, ticket, state, policy, wait=False)
    return True


# --- what the queue looks like ---------------------------------------------------------------------


def _live_waiting(session: Session, queue: QueueKind) -> list[tuple[int, datetime]]:
    """The queue's waiting tickets that still wait (rows left behind by a ticket taken another way —
    an agent assigned it by hand, it was resolved — are marked on sight)."""
    repo = RoutingRepository(session)
    rows = repo.waiting_ids(queue)
    still = tickets.waiting_ticket_ids(session, [i for i, _ in rows])
    stale = [i for i, _ in rows if i not in still]
    if stale:
        repo.mark_not_waiting(stale)
    return [(i, at) for i, at in rows if i in still]


def queue_position(session: Session, ticket_id: int) -> int | None:
    """1 for the next ticket to be taken; None when the ticket is not waiting in a routed queue."""
    repo = RoutingRepository(session)
    state = repo.state(ticket_id)
    if state is None or not state.waiting or not tickets.waiting_ticket_ids(session, [ticket_id]):
        return None
    ahead = repo.ahead_of(state)
    return len(tickets.waiting_ticket_ids(session, ahead)) + 1


def _median_handling(session: Session, queue: QueueKind, policy: RoutingPolicy) -> timedelta | None:
    """Median time from assignment to the first response (or resolution) over recent tickets."""
    recent = RoutingRepository(session).recently_assigned(queue, policy.wait_sample)
    handled = tickets.handling_times(session, [i for i, _ in recent])
    samples = [
        (as_utc(handled[i]) - as_utc(at)).total_seconds()
        for i, at in recent
        if i in handled and as_utc(handled[i]) >= as_utc(at)
    ]
    return timedelta(seconds=statistics.median(samples)) if samples else None


def _agents_serving(session: Session, now: datetime) -> int:
    return agents.available_agent_count(session, now)


def _wait_for(position: int, handling: timedelta | None, serving: int) -> timedelta | None:
    if handling is None or serving == 0:
        return None  # no basis: nothing handled recently, or nobody online to take it
    return handling * math.ceil(position / serving)


def expected_wait(session: Session, ticket_id: int) -> timedelta | None:
    """An honest estimate of the time until someone takes the ticket: the median recent handling time
    of its queue per round of the agents online ahead of it; None when there is no basis."""
    position = queue_position(session, ticket_id)
    state = RoutingRepository(session).state(ticket_id)
    if position is None or state is None:
        return None
    handling = _median_handling(session, state.queue, routing_policy())
    return _wait_for(position, handling, _agents_serving(session, utcnow()))


@dataclass(frozen=True)
class QueueOverview:
    queue: QueueKind
    waiting: int
    longest_wait_seconds: float | None
    # For a ticket joining the queue now.
    expected_wait_seconds: float | None


def queue_overview(session: Session) -> list[QueueOverview]:
    policy = routing_policy()
    now = utcnow()
    serving = _agents_serving(session, now)
    out = []
    for queue in ROUTED_QUEUES:
        waiting = _live_waiting(session, queue)
        oldest = min((as_utc(at) for _, at in waiting), default=None)
        wait = _wait_for(len(waiting) + 1, _median_handling(session, queue, policy), serving)
        out.append(
            QueueOverview(
                queue,
                len(waiting),
                (now - oldest).total_seconds() if oldest is not None else None,
                wait.total_seconds() if wait is not None else None,
            )
        )
    return out


@dataclass(frozen=True)
class WaitingTicket:
    ticket_id: int
    queue: QueueKind
    queued_at: datetime
    # The agent the ticket is offered to now, if any.
    offered_to: int | None


def waiting_tickets(session: Session, queue: QueueKind, limit: int) -> list[WaitingTicket]:
    """The queue's waiting tickets, the longest waiting first, at most ``limit`` (rows left behind by a
    ticket taken another way are marked on sight and skipped)."""
    repo = RoutingRepository(session)
    found: list[WaitingTicket] = []
    offset = 0
    while len(found) < limit:
        page = repo.oldest_waiting(queue, offset=offset, limit=limit)
        if not page:
            break
        offset += len(page)
        still = tickets.waiting_ticket_ids(session, [s.ticket_id for s in page])
        stale = [s.ticket_id for s in page if s.ticket_id not in still]
        if stale:
            repo.mark_not_waiting(stale)
            offset -= len(stale)  # marked: they drop out of the next page's query
        offers = repo.open_offers_for([s.ticket_id for s in page if s.ticket_id in still])
        found.extend(
            WaitingTicket(s.ticket_id, s.queue, s.queued_at, offers.get(s.ticket_id))
            for s in page
            if s.ticket_id in still
        )
    return found[:limit]


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    name: str
    status: str
    load: int
    open_tickets: dict[str, int]
    open_offers: int
    capacity: dict[str, int]


def agent_loads(session: Session) -> list[AgentLoad]:
    """Every active agent's weighted load, open tickets per channel and open offers."""
    policy = routing_policy()
    people = agents.list_agents(session, active=True)
    ids = [a.id for a in people]
    assigned = tickets.assigned_load(session, ids, LOAD_STATUSES)
    offers = RoutingRepository(session).open_offer_channels(ids)
    return [
        AgentLoad(
            agent_id=a.id,
            name=a.name,
            status=a.status.value,
            load=_weighted(assigned.get(a.id, {}), policy),
            open_tickets={c.value: n for c, n in assigned.get(a.id, {}).items()},
            open_offers=sum(offers.get(a.id, {}).values()),
            capacity={c.value: _capacity(a, c, policy) for c in policy.default_capacity},
        )
        for a in people
    ]


@dataclass(frozen=True)
class OfferOutcomes:
    since: datetime
    totals: dict[str, int]
    by_agent: dict[int, dict[str, int]]


def offer_outcomes(session: Session, since: datetime) -> OfferOutcomes:
    """How offers made since ``since`` ended: accepted, declined, expired, cancelled, still open."""
    totals = {state.value: 0 for state in OfferState}
    by_agent: dict[int, dict[str, int]] = {}
    for agent_id, state, n in RoutingRepository(session).outcome_counts(since):
        totals[state.value] += n
        by_agent.setdefault(agent_id, {s.value: 0 for s in OfferState})[state.value] += n
    return OfferOutcomes(since, totals, by_agent)
