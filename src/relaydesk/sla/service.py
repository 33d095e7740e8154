"""SLA's public surface: follow a ticket's events with its clocks, tick due clocks, read SLA state.

- ``follow_ticket`` (job ``sla.follow_ticket``, enqueued by ``tickets.events.record_event`` for the
  events SLA cares about) applies the ticket's new events, in order and once, to its clocks.
- ``tick`` (periodic ``sla.tick``) turns due clocks at risk or breached, a batch at a time, and writes
  ``sla.at_risk`` / ``sla.breached`` events carrying the policy version.
- ``due_time`` is routing's queue-order source; ``ticket_clocks`` and ``next_due`` feed the workspace.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.customers import service as customers
from relaydesk.customers.enums import CustomerTier
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.policies import policy_version
from relaydesk.sla import clocks
from relaydesk.sla.calendar import BusinessCalendar
from relaydesk.sla.enums import ClockState, SlaTarget
from relaydesk.sla.models import SlaClock
from relaydesk.sla.policy import SlaEntry, SlaPolicy, TicketFacts, business_calendar, sla_policy
from relaydesk.sla.repository import SlaRepository
from relaydesk.sla.schemas import ClockOut, TickResult
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, EscalationLevel, TicketStatus

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket, TicketEvent

__all__ = [
    "FOLLOW_JOB",
    "TICK_BATCH",
    "due_time",
    "follow_ticket",
    "next_due",
    "tick",
    "ticket_clocks",
    "ticket_facts",
]

FOLLOW_JOB = tickets.SLA_FOLLOW_JOB
TICK_BATCH = 1000
SYSTEM = tickets.Actor(AuthorKind.SYSTEM)

_PAUSING = frozenset({TicketStatus.PENDING_CUSTOMER, TicketStatus.ON_HOLD})
_FINISHING = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
_RETARGETING = frozenset(
    {
        "ticket.priority_changed",
        "ticket.team_changed",
        "ticket.category_changed",
        "ticket.escalation_level_changed",
        "ticket.customer_merged",
    }
)
# The targets that order a queue: answer the customer first, else resolve.
_RESPONSE_TARGETS = (SlaTarget.FIRST_RESPONSE, SlaTarget.NEXT_RESPONSE)


def ticket_facts(session: Session, ticket: Ticket) -> TicketFacts:
    customer = customers.get_customer(session, ticket.customer_id)
    team = agents.get_team(session, ticket.team_id).name if ticket.team_id is not None else None
    return TicketFacts(
        priority=ticket.priority,
        channel=ticket.channel,
        tier=CustomerTier(customer.tier),
        team=team,
        category=ticket.category,
        escalation_level=ticket.escalation_level,
    )


class _Follower:
    """Applies one ticket's events to its clocks, under the ticket's lock."""

    def __init__(self, session: Session, ticket: Ticket, policy: SlaPolicy) -> None:
        self.session = session
        self.ticket = ticket
        self.policy = policy
        self.version = policy_version("sla") or ""
        self.entry: SlaEntry = policy.entry_for(ticket_facts(session, ticket))
        self.calendar = business_calendar(self.entry.calendar)
        self.clocks = SlaRepository(session).clocks_of(ticket.id)
        running = [c for c in self.clocks.values() if clocks.is_open(c)]
        # Paused now if its open clocks are; with none open, the ticket's status says.
        self.paused = (
            any(c.state is ClockState.PAUSED for c in running)
            if running
            else TicketStatus(ticket.status) in _PAUSING
        )

    def calendar_of(self, clock: SlaClock) -> BusinessCalendar:
        return self.calendar if clock.calendar == self.entry.calendar else business_calendar(clock.calendar)

    def open_clock(self, target: SlaTarget) -> SlaClock | None:
        clock = self.clocks.get(target)
        return clock if clock is not None and clocks.is_open(clock) else None

    # --- starting and ending clocks ---------------------------------------------------------------

    def start(self, target: SlaTarget, at: datetime) -> None:
        """Start ``target`` (a new cycle when its row exists); nothing when the policy sets no such target."""
        duration = self.entry.targets.of(target)
        if duration is None:
            return
        clock = self.clocks.get(target)
        if clock is None:
            clock = SlaClock(ticket_id=self.ticket.id, target=target, cycle=0)
            self.session.add(clock)
            self.clocks[target] = clock
        clock.policy_name, clock.policy_version = self.entry.name, self.version
        clock.calendar = self.entry.calendar
        clock.target_seconds = int(duration.total_seconds())
        clock.at_risk_share = self.policy.share_of(self.entry)
        clocks.restart(clock, self.calendar, at, paused=self.paused)

    def complete(self, target: SlaTarget, at: datetime) -> None:
        clock = self.open_clock(target)
        if clock is None:
            return
        counted = clocks.complete(clock, self.calendar_of(clock), at)
        tickets.record_event(
            self.session,
            self.ticket,
            "sla.fulfilled",
            SYSTEM,
            {
                "target": clock.target.value,
                "cycle": clock.cycle,
                "on_time": clock.state is ClockState.MET,
                "elapsed_business_seconds": round(counted.total_seconds()),
                "target_seconds": clock.target_seconds,
                "policy": clock.policy_name,
                "policy_version": clock.policy_version,
            },
        )

    def cancel(self, clock: SlaClock, at: datetime) -> None:
        clocks.fold(clock, self.calendar_of(clock), at)
        clock.running_since = clock.due_at = clock.at_risk_at = None
        clock.completed_at = at
        clock.state = ClockState.CANCELLED

    def cancel_open(self, at: datetime) -> None:
        for clock in self.clocks.values():
            if clocks.is_open(clock):
                self.cancel(clock, at)

    # --- the events -------------------------------------------------------------------------------

    def apply(self, event: TicketEvent) -> None:
        at = as_utc(event.created_at)
        kind = event.kind
        if kind == "ticket.created":
            for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION, SlaTarget.PERIODIC_UPDATE):
                if target not in self.clocks:
                    self.start(target, at)
        elif kind == "message.added":
            self._message(event, at)
        elif kind == "ticket.status_changed":
            self._status(TicketStatus(event.data["to"]), at)
        elif kind in _RETARGETING:
            self._retarget(at)
            if kind == "ticket.escalation_level_changed" and _raised(event.data):
                self.start(SlaTarget.ACKNOWLEDGEMENT, at)
        elif kind == "escalation.acknowledged":
            self.complete(SlaTarget.ACKNOWLEDGEMENT, at)

    def _message(self, event: TicketEvent, at: datetime) -> None:
        if event.actor_kind is AuthorKind.CUSTOMER:
            answered = (
                self.ticket.first_response_at is not None and as_utc(self.ticket.first_response_at) <= at
            )
            if answered and self.open_clock(SlaTarget.NEXT_RESPONSE) is None:
                self.start(SlaTarget.NEXT_RESPONSE, at)
        elif event.actor_kind is AuthorKind.AGENT and event.data.get("public"):
            self.complete(SlaTarget.FIRST_RESPONSE, at)
            self.complete(SlaTarget.NEXT_RESPONSE, at)
            if self.open_clock(SlaTarget.PERIODIC_UPDATE) is not None:
                self.complete(SlaTarget.PERIODIC_UPDATE, at)
                self.start(SlaTarget.PERIODIC_UPDATE, at)

    def _status(self, status: TicketStatus, at: datetime) -> None:
        if status in _PAUSING:
            self.paused = True
            for clock in self.clocks.values():
                clocks.pause(clock, self.calendar_of(clock), at)
        elif status in _FINISHING:
            self.complete(SlaTarget.RESOLUTION, at)
            self.cancel_open(at)
            self.paused = False
        elif status is TicketStatus.REOPENED:
            self.paused = False
            resolution = self.clocks.get(SlaTarget.RESOLUTION)
            if resolution is not None and resolution.completed_at is not None:
                # The case counts its whole open time: resolution goes on from what it had counted.
                resolution.completed_at = None
                resolution.state = ClockState.PAUSED
                clocks.resume(resolution, self.calendar_of(resolution), at)
            self.start(SlaTarget.PERIODIC_UPDATE, at)
        elif self.paused:
            self.paused = False
            for clock in self.clocks.values():
                clocks.resume(clock, self.calendar_of(clock), at)

    def _retarget(self, at: datetime) -> None:
        for target, clock in self.clocks.items():
            if not clocks.is_open(clock):
                continue
            duration = self.entry.targets.of(target)
            if duration is None:
                self.cancel(clock, at)  # the matching entry has no such target any more
                continue
            clocks.retarget(
                clock,
                self.calendar_of(clock),
                self.calendar,
                at,
                target=duration,
                share=self.policy.share_of(self.entry),
            )
            clock.policy_name, clock.policy_version = self.entry.name, self.version
            clock.calendar = self.entry.calendar


def _raised(data: dict[str, Any]) -> bool:
    try:
        return EscalationLevel(data["to"]).rank > EscalationLevel(data["from"]).rank
    except (KeyError, ValueError):
        return False


def follow_ticket(session: Session, ticket_id: int) -> int:
    """Apply the ticket's events SLA has not seen yet to its clocks; returns how many were applied."""
    ticket = tickets.lock_ticket(session, ticket_id)
    if ticket is None:
        return 0
    repo = SlaRepository(session)
    follow = repo.follow_of(ticket_id)
    events = tickets.events_after(session, ticket_id, follow.last_event_id)
    if not events:
        return 0
    policy = sla_policy()
    if policy is not None:
        follower = _Follower(session, ticket, policy)
        for event in events:
            follower.apply(event)
    # Without an sla policy nothing is counted; the events are still marked seen, so a policy added
    # later counts from its own arrival rather than replaying history as if it had been in force.
    follow.last_event_id = events[-1].id
    session.flush()
    return len(events)


def tick(session: Session, now: datetime | None = None, *, batch: int = TICK_BATCH) -> TickResult:
    """One batch of due clocks: at risk, then breached; each writes its event with the policy version.

    Each transition is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``
    and the events go in as one batch: a tick handles a thousand clocks without an ORM object."""
    now = now or utcnow()
    repo = SlaRepository(session)
    at_risk = repo.take_due_at_risk(now, batch)
    breached = repo.take_due_breaches(now, batch)
    tickets.record_events(
        session,
        SYSTEM,
        [
            (
                row.ticket_id,
                kind,
                {
                    "target": SlaTarget(row.target).value,
                    "cycle": row.cycle,
                    "at": as_utc(row.moment).isoformat(),
                    "target_seconds": row.target_seconds,
                    "policy": row.policy_name,
                    "policy_version": row.policy_version,
                },
            )
            for kind, rows in (("sla.at_risk", at_risk), ("sla.breached", breached))
            for row in rows
        ],
    )
    return TickResult(at_risk=len(at_risk), breached=len(breached))


def due_time(session: Session, ticket: Ticket, queued_at: datetime) -> datetime | None:
    """Routing's queue order: the nearest response due time, else the resolution due time.

    Read-only and without autoflush: routing calls it with its own queue row half-written.
    """
    with session.no_autoflush:
        repo = SlaRepository(session)
        due = repo.earliest_due(ticket.id, _RESPONSE_TARGETS) or repo.earliest_due(
            ticket.id, (SlaTarget.RESOLUTION,)
        )
        if due is not None:
            return as_utc(due)
        if repo.clocks_of(ticket.id):
            return None  # paused or answered: nothing to hurry
        # Routed before the follow job ran: the due time its clocks will have.
        policy = sla_policy()
        if policy is None:
            return None
        entry = policy.entry_for(ticket_facts(session, ticket))
        target = entry.targets.of(
            SlaTarget.FIRST_RESPONSE if ticket.first_response_at is None else SlaTarget.RESOLUTION
        )
        if target is None:
            return None
        return business_calendar(entry.calendar).add(as_utc(ticket.created_at), target)


def next_due(session: Session, ticket_ids: list[int]) -> dict[int, datetime]:
    """Each ticket's nearest due time among its running clocks (the inbox countdown)."""
    return {k: as_utc(v) for k, v in SlaRepository(session).next_due_by_ticket(ticket_ids).items()}


def ticket_clocks(session: Session, ticket_id: int, now: datetime | None = None) -> list[ClockOut]:
    """The ticket's clocks, first response first, with the business time left on the open ones."""
    now = now or utcnow()
    out = []
    rows = SlaRepository(session).clocks_of(ticket_id)
    for target in SlaTarget:
        clock = rows.get(target)
        if clock is None:
            continue
        remaining = None
        elapsed_seconds = clock.elapsed_seconds
        if clocks.is_open(clock):
            elapsed = clocks.elapsed(clock, business_calendar(clock.calendar), now)
            elapsed_seconds = elapsed.total_seconds()
            remaining = (timedelta(seconds=clock.target_seconds) - elapsed).total_seconds()
        out.append(
            ClockOut(
                target=clock.target,
                state=clock.state,
                cycle=clock.cycle,
                policy_name=clock.policy_name,
                policy_version=clock.policy_version,
                calendar=clock.calendar,
                target_seconds=clock.target_seconds,
                elapsed_seconds=elapsed_seconds,
                remaining_seconds=remaining,
                due_at=_aware(clock.due_at),
                at_risk_at=_aware(clock.at_risk_at),
                breached_at=_aware(clock.breached_at),
                completed_at=_aware(clock.completed_at),
            )
        )
    return out


def _aware(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
