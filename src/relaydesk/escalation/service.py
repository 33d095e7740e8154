"""The escalation ladder: move a ticket up its team's path (or sideways to another team), have the
receiving level acknowledge it, escalate again when nobody picks it up in time, and send it back down.

Every move is a row in ``escalations`` and a ticket event (who, from, to, reason, note, policy version),
written in the caller's transaction. Ownership moves through routing (``routing.requeue``: the ticket is
queued and offered to whoever serves the new level), never by setting an assignee here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.auth.roles import Role
from relaydesk.escalation.enums import AckState, EscalationMove
from relaydesk.escalation.models import Escalation
from relaydesk.escalation.policy import (
    EscalationPathsPolicy,
    LevelRule,
    PathRule,
    ReasonRule,
    escalation_paths,
    policy_version,
)
from relaydesk.escalation.repository import EscalationRepository
from relaydesk.jobs import enqueue
from relaydesk.kit.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailedError
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, EscalationLevel, TicketStatus
from relaydesk.tickets.schemas import TicketUpdate

if TYPE_CHECKING:
    from relaydesk.agents.models import Agent
    from relaydesk.tickets.models import Ticket

__all__ = [
    "DE_ESCALATION_REASON",
    "PICKUP_JOB",
    "AlreadyAcknowledgedError",
    "EscalationConflictError",
    "Ladder",
    "NotTheReceiverError",
    "acknowledge",
    "awaiting",
    "check_pickup",
    "de_escalate",
    "escalate",
    "history",
    "ladder",
]

PICKUP_JOB = "escalation.check_pickup"
# A de-escalation is not an escalation reason from the list: what it carries is its note.
DE_ESCALATION_REASON = "de_escalation"
NOTE_MAX_CHARS = 10_000
_SYSTEM = tickets.Actor(AuthorKind.SYSTEM)
_CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class EscalationConflictError(ConflictError):
    code = "escalation_conflict"


class AlreadyAcknowledgedError(ConflictError):
    code = "already_acknowledged"


class NotTheReceiverError(PermissionDeniedError):
    code = "not_the_receiver"


# --- the path a ticket climbs -----------------------------------------------------------------------


def _policy() -> EscalationPathsPolicy:
    policy = escalation_paths()
    if policy is None:
        raise EscalationConflictError(
            "No escalation paths are configured: add an escalation_paths policy file "
            "(see policies/escalation_paths.yaml)."
        )
    return policy


def _path_of(session: Session, ticket: Ticket, policy: EscalationPathsPolicy) -> PathRule | None:
    """The path the ticket is on: the one its last move named (a ticket escalated out of its team keeps
    climbing the same path), else the path of its team, else the default path."""
    latest = EscalationRepository(session).latest(ticket.id)
    if latest is not None and latest.to_level is not EscalationLevel.FRONTLINE:
        named = policy.path_named(latest.path)
        if named is not None:
            return named
    team = agents.get_team(session, ticket.team_id) if ticket.team_id is not None else None
    return policy.path_for_team(team.name if team is not None else None)


def _require_path(session: Session, ticket: Ticket, policy: EscalationPathsPolicy) -> PathRule:
    path = _path_of(session, ticket, policy)
    if path is None:
        raise EscalationConflictError(
            f"Ticket {ticket.id}'s team climbs no escalation path: name it in a path of "
            "escalation_paths.yaml, or mark one path as the default."
        )
    return path


def _team_id(session: Session, rule: LevelRule, ticket: Ticket) -> int | None:
    """The team that serves ``rule``'s level: the one it names, else the ticket's own."""
    if rule.team is None:
        return ticket.team_id
    team = agents.team_by_name(session, rule.team)
    if team is None:
        raise EscalationConflictError(
            f"The escalation path names team {rule.team!r} for level {rule.level.value}, and there is no "
            "team of that name; fix escalation_paths.yaml or create the team."
        )
    return team.id


def _level_requirement(session: Session, ticket: Ticket) -> routing.LevelRequirement | None:
    """What routing asks of an agent at the ticket's level: its path's tier and role for it."""
    policy = escalation_paths()
    path = _path_of(session, ticket, policy) if policy is not None else None
    rule = path.rule(ticket.escalation_level) if path is not None else None
    return routing.LevelRequirement(rule.min_tier, rule.role) if rule is not None else None


routing.set_level_requirement_source(_level_requirement)


# --- moves ------------------------------------------------------------------------------------------


def _reason(policy: EscalationPathsPolicy, code: str) -> ReasonRule:
    found = policy.reason(code)
    if found is None:
        raise ValidationFailedError(
            f"{code!r} is not an escalation reason; choose one of: "
            f"{', '.join(r.code for r in policy.reasons)}.",
            details={"field": "reason", "allowed": [r.code for r in policy.reasons]},
        )
    return found


def _clean_note(note: str) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationFailedError(f"The note is longer than {NOTE_MAX_CHARS} characters; shorten it.")
    return note


def _check_team(session: Session, team_id: int) -> None:
    try:
        agents.get_team(session, team_id)
    except NotFoundError:
        raise ValidationFailedError(
            f"There is no team {team_id} to escalate to; choose one of the teams.",
            details={"field": "to_team_id"},
        ) from None


def _locked_open_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = tickets.lock_ticket(session, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.")
    if ticket.status in _CLOSED:
        raise EscalationConflictError(
            f"Ticket {ticket_id} is {ticket.status.value}; reopen it before moving it on the ladder."
        )
    return ticket


def escalate(
    session: Session,
    ticket_id: int,
    *,
    to_level: EscalationLevel | None = None,
    to_team_id: int | None = None,
    reason: str,
    note: str = "",
    actor: tickets.Actor | None = None,
) -> Escalation:
    """Move the ticket up its path: to the next level, to ``to_level``, or (``to_team_id`` alone)
    sideways to another team at the same level. ``actor`` None: the system (a rule, a phrase, a timer).

    The receiving level must acknowledge within its pickup target; until then the move awaits.
    """
    policy = _policy()
    _reason(policy, reason)
    note = _clean_note(note)
    ticket = _locked_open_ticket(session, ticket_id)
    path = _require_path(session, ticket, policy)
    current = ticket.escalation_level
    team_id: int | None
    if to_team_id is not None:
        _check_team(session, to_team_id)
    if to_team_id is not None and to_level in (None, current):
        rule = path.rule(current)
        if rule is None:
            raise EscalationConflictError(
                f"Level {current.value} is not on path {path.name!r}; escalate to one of its levels first."
            )
        if to_team_id == ticket.team_id:
            raise ValidationFailedError("The ticket is in that team already; choose another team.")
        move, team_id = EscalationMove.SIDEWAYS, to_team_id
    else:
        found = path.above(current) if to_level is None else path.rule(to_level)
        if found is None:
            raise (
                EscalationConflictError(
                    f"Ticket {ticket_id} is at {current.value}, the top of path {path.name!r}; "
                    "there is no level above it."
                )
                if to_level is None
                else ValidationFailedError(
                    f"Level {to_level.value} is not on path {path.name!r}; its levels are "
                    f"{', '.join(r.level.value for r in path.levels)}.",
                    details={"field": "to_level"},
                )
            )
        rule = found
        if rule.level.rank <= current.rank:
            raise EscalationConflictError(
                f"Ticket {ticket_id} is at {current.value} already; escalating goes up the ladder "
                "(to go down, de-escalate with a note).",
                details={"level": current.value},
            )
        move, team_id = EscalationMove.UP, to_team_id or _team_id(session, rule, ticket)
    if rule.level is EscalationLevel.LEGAL and (
        team_id is None or not agents.get_team(session, team_id).restricted
    ):
        raise EscalationConflictError(
            "The legal level goes only to a restricted team; name the restricted legal team for it in "
            "escalation_paths.yaml."
        )
    return _move(
        session,
        ticket,
        policy=policy,
        path=path,
        move=move,
        level=rule.level,
        team_id=team_id,
        reason=reason,
        note=note,
        actor=actor or _SYSTEM,
        pickup=timedelta(minutes=rule.pickup_minutes),
    )


# A ticket triage has not released yet (the inbound pipeline's steps run before it).
_BEFORE_TRIAGE = frozenset({TicketStatus.NEW, TicketStatus.BOT})


def _move(
    session: Session,
    ticket: Ticket,
    *,
    policy: EscalationPathsPolicy,
    path: PathRule,
    move: EscalationMove,
    level: EscalationLevel,
    team_id: int | None,
    reason: str,
    note: str,
    actor: tickets.Actor,
    pickup: timedelta | None,
    give_back_to: int | None = None,
) -> Escalation:
    repo = EscalationRepository(session)
    now = utcnow()
    earlier = repo.awaiting(ticket.id)
    if earlier is not None:
        earlier.ack_state = AckState.SUPERSEDED
        session.flush()  # the partial unique index allows one awaiting row per ticket
    escalation = Escalation(
        ticket_id=ticket.id,
        move=move,
        path=path.name,
        from_level=ticket.escalation_level,
        to_level=level,
        from_team_id=ticket.team_id,
        to_team_id=team_id,
        from_assignee_id=ticket.assignee_id,
        reason=reason,
        note=note,
        actor_kind=actor.kind,
        actor_id=actor.id,
        policy_version=policy_version(policy),
        ack_state=AckState.AWAITING if pickup is not None else AckState.NOT_NEEDED,
        ack_due_at=now + pickup if pickup is not None else None,
        created_at=now,
    )
    session.add(escalation)
    changes = TicketUpdate(escalation_level=level, team_id=team_id, reason=f"escalation: {reason}")
    tickets.update_ticket(session, ticket, TicketUpdate(**changes.model_dump(exclude_none=True)), actor)
    session.flush()
    if escalation.ack_due_at is not None:
        enqueue(
            session,
            PICKUP_JOB,
            run_at=escalation.ack_due_at,
            dedupe_key=f"escalation_pickup:{escalation.id}",
            escalation_id=escalation.id,
        )
    tickets.record_event(
        session,
        ticket,
        "escalation.de_escalated" if move is EscalationMove.DOWN else "escalation.escalated",
        actor,
        {
            "escalation_id": escalation.id,
            "move": move.value,
            "path": path.name,
            "from": escalation.from_level.value,
            "to": level.value,
            "from_team_id": escalation.from_team_id,
            "to_team_id": team_id,
            "reason": reason,
            "note": note,
            "ack_due_at": escalation.ack_due_at.isoformat() if escalation.ack_due_at else None,
            "policy_version": escalation.policy_version,
        },
    )
    if give_back_to is not None:
        routing.reassign(session, ticket, give_back_to, actor)
    elif ticket.status in _BEFORE_TRIAGE:
        # Escalated before triage ran (a phrase rule on the first message): triage still classifies it
        # and then releases it for routing, which reads the level and team set here.
        pass
    else:
        routing.requeue(session, ticket.id, actor, reason=f"escalation.{move.value}")
    return escalation


# --- acknowledgement -----------------------------------------------------------------------------


def _serves(session: Session, agent: Agent, ticket: Ticket, escalation: Escalation) -> bool:
    """Whether ``agent`` is the receiver: the assignee when the ticket has one, else anyone who serves
    the level (in its team, at its tier and role)."""
    if ticket.assignee_id is not None:
        return ticket.assignee_id == agent.id
    policy = escalation_paths()
    path = policy.path_named(escalation.path) if policy is not None else None
    rule = path.rule(escalation.to_level) if path is not None else None
    tier = rule.min_tier if rule is not None else escalation.to_level.rank + 1
    role = rule.role if rule is not None else None
    return (
        (escalation.to_team_id is None or escalation.to_team_id in agent.team_ids)
        and agent.tier_level >= tier
        and (role is None or Role(agent.role).at_least(role))
    )


def acknowledge(session: Session, ticket_id: int, agent: Agent) -> Escalation:
    """The receiver picks the escalation up: 409 when nothing awaits it, 403 for anyone else."""
    ticket = tickets.lock_ticket(session, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.")
    repo = EscalationRepository(session)
    escalation = repo.awaiting(ticket.id)
    if escalation is None:
        latest = repo.latest(ticket.id)
        if latest is not None and latest.ack_state is AckState.ACKNOWLEDGED:
            raise AlreadyAcknowledgedError(
                f"The escalation to {latest.to_level.value} was acknowledged already"
                f" at {as_utc(latest.acknowledged_at or latest.created_at):%Y-%m-%d %H:%M} UTC.",
                details={"escalation_id": latest.id, "acknowledged_by_id": latest.acknowledged_by_id},
            )
        raise EscalationConflictError(f"Nothing on ticket {ticket_id} awaits acknowledgement.")
    if not _serves(session, agent, ticket, escalation):
        raise NotTheReceiverError(
            "Only the receiver acknowledges an escalation: the agent it was given to, or, while nobody "
            f"holds it, someone who serves {escalation.to_level.value}.",
        )
    now = utcnow()
    escalation.ack_state, escalation.acknowledged_at, escalation.acknowledged_by_id = (
        AckState.ACKNOWLEDGED,
        now,
        agent.id,
    )
    due = as_utc(escalation.ack_due_at) if escalation.ack_due_at else now
    tickets.record_event(
        session,
        ticket,
        "escalation.acknowledged",
        tickets.Actor(AuthorKind.AGENT, agent.id),
        {
            "escalation_id": escalation.id,
            "level": escalation.to_level.value,
            "waited_seconds": int((now - as_utc(escalation.created_at)).total_seconds()),
            "within_target": now <= due,
        },
    )
    session.flush()
    return escalation


def check_pickup(session: Session, escalation_id: int) -> Escalation | None:
    """The pickup timer (a job at ``ack_due_at``): an escalation still not acknowledged escalates to
    the next level of its path, with the policy's overdue reason. Idempotent; returns the new move."""
    repo = EscalationRepository(session)
    escalation = repo.get(escalation_id)
    if escalation is None:
        return None
    ticket = tickets.lock_ticket(session, escalation.ticket_id)
    session.refresh(escalation)
    if ticket is None or escalation.ack_state is not AckState.AWAITING or escalation.ack_due_at is None:
        return None
    due = as_utc(escalation.ack_due_at)
    if due > utcnow() or ticket.status in _CLOSED:
        return None  # not yet (its own job is queued), or the work is done: nothing to chase
    policy = escalation_paths()
    path = policy.path_named(escalation.path) if policy is not None else None
    above = path.above(ticket.escalation_level) if path is not None else None
    if above is not None and above.level is EscalationLevel.LEGAL:
        # Legal takes a legal reason, never a missed pickup: the chase stops at the level below it.
        above = None
    overdue = "escalation.pickup_overdue"
    tickets.record_event(
        session,
        ticket,
        overdue,
        _SYSTEM,
        {
            "escalation_id": escalation.id,
            "level": escalation.to_level.value,
            "due_at": due.isoformat(),
            "escalates_to": above.level.value if above is not None else None,
        },
    )
    if policy is None or above is None:
        return None  # the top of the path (or legal next): it keeps waiting for its pickup
    minutes = int((due - as_utc(escalation.created_at)).total_seconds() // 60)
    return escalate(
        session,
        ticket.id,
        to_level=above.level,
        reason=policy.pickup_overdue_reason,
        note=f"Not picked up at {escalation.to_level.value} within {minutes} minutes.",
    )


# --- de-escalation -------------------------------------------------------------------------------


def de_escalate(
    session: Session,
    ticket_id: int,
    *,
    note: str,
    actor: tickets.Actor,
    to_level: EscalationLevel | None = None,
) -> Escalation:
    """Send the ticket back down (to the level below, or ``to_level``) with a note; it returns to whoever
    held it there when that agent may still take it, else it is routed to that level."""
    note = _clean_note(note)
    if not note:
        raise ValidationFailedError("Say in a note what was done and why the ticket goes back down.")
    policy = _policy()
    ticket = _locked_open_ticket(session, ticket_id)
    path = _require_path(session, ticket, policy)
    current = ticket.escalation_level
    rule = path.below(current) if to_level is None else path.rule(to_level)
    if rule is None or rule.level.rank >= current.rank:
        raise EscalationConflictError(
            f"Ticket {ticket_id} is at {current.value}"
            + (", the bottom of its path; there is nothing to de-escalate." if to_level is None else "")
            + (f"; {to_level.value} is not a level below it on path {path.name!r}." if to_level else ""),
            details={"level": current.value},
        )
    # Back to the team (and person) that escalated it from that level, when the history knows them.
    came_from = next(
        (
            e
            for e in reversed(EscalationRepository(session).history(ticket.id))
            if e.move is EscalationMove.UP and e.from_level is rule.level
        ),
        None,
    )
    team_id = came_from.from_team_id if came_from is not None else _team_id(session, rule, ticket)
    give_back = came_from.from_assignee_id if came_from is not None else None
    if give_back is not None and not _may_take(session, give_back, team_id, rule):
        give_back = None
    return _move(
        session,
        ticket,
        policy=policy,
        path=path,
        move=EscalationMove.DOWN,
        level=rule.level,
        team_id=team_id,
        reason=DE_ESCALATION_REASON,
        note=note,
        actor=actor,
        pickup=None,
        give_back_to=give_back,
    )


def _may_take(session: Session, agent_id: int, team_id: int | None, rule: LevelRule) -> bool:
    agent = agents.get_agent(session, agent_id)
    return (
        agent.active
        and (team_id is None or team_id in agent.team_ids)
        and agent.tier_level >= rule.min_tier
        and (rule.role is None or Role(agent.role).at_least(rule.role))
    )


# --- what screens read ----------------------------------------------------------------------------


def history(session: Session, ticket_id: int) -> list[Escalation]:
    """The ticket's moves on the ladder, oldest first."""
    return list(EscalationRepository(session).history(ticket_id))


def awaiting(session: Session, ticket_id: int) -> Escalation | None:
    """The escalation that waits for its pickup, if any."""
    return EscalationRepository(session).awaiting(ticket_id)


@dataclass(frozen=True)
class Ladder:
    """The ticket's path as a screen shows it: its levels, where the ticket is, and the reasons."""

    path: PathRule | None
    current: EscalationLevel
    above: LevelRule | None
    below: LevelRule | None
    reasons: list[ReasonRule]
    pending: Escalation | None
    pending_overdue: bool
    history: list[Escalation]


def ladder(session: Session, ticket: Ticket) -> Ladder:
    policy = escalation_paths()
    path = _path_of(session, ticket, policy) if policy is not None else None
    pending = awaiting(session, ticket.id)
    now: datetime = utcnow()
    return Ladder(
        path=path,
        current=ticket.escalation_level,
        above=path.above(ticket.escalation_level) if path is not None else None,
        below=path.below(ticket.escalation_level) if path is not None else None,
        reasons=list(policy.reasons) if policy is not None else [],
        pending=pending,
        pending_overdue=bool(pending and pending.ack_due_at and as_utc(pending.ack_due_at) < now),
        history=history(session, ticket.id),
    )
