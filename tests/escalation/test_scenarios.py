"""The escalation ladder, one scenario per test, on the injectable clock: who receives an escalation,
its pickup target, what happens when nobody picks it up, and the way back down."""

from __future__ import annotations

from datetime import timedelta

import pytest

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.auth.roles import Role
from relaydesk.escalation import service as escalation
from relaydesk.escalation.enums import AckState, EscalationMove
from relaydesk.kit.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from relaydesk.kit.time import as_utc
from relaydesk.policies import policy_version as loaded_version
from relaydesk.tickets.enums import AuthorKind, EscalationLevel, TicketStatus
from tests.escalation.conftest import as_agent, moves_of
from tests.factories import events_of_kind, make_team, run_jobs
from tests.routing.conftest import (
    accept_as,
    offer_of,
    queued_ticket,
    reload_ticket,
    routing_agent,
    routing_team,
)


def _held_by(database, agent_id: int, team_id: int) -> int:
    """A Support ticket offered to and accepted by ``agent_id`` (the only one eligible at that moment)."""
    ticket_id = queued_ticket(database, team_id=team_id)
    offer_id, offered_to = offer_of(database, ticket_id)
    assert offered_to == agent_id
    accept_as(database, offer_id, agent_id)
    return ticket_id


def _escalate(database, ticket_id: int, **kwargs):
    with database.transaction() as session:
        return escalation.escalate(session, ticket_id, **kwargs).id


def _acknowledge(database, ticket_id: int, agent_id: int):
    with database.transaction() as session:
        return escalation.acknowledge(session, ticket_id, agents.get_agent(session, agent_id)).id


def test_escalating_to_tier2_routes_it_there_and_waits_for_pickup_within_its_own_target(
    database, paths, clock
):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))

    _escalate(
        database,
        ticket_id,
        reason="needs_expertise",
        note="Tried a password reset twice; the 2FA device is lost.",
        actor=as_agent(front.agent_id),
    )

    ticket = reload_ticket(database, ticket_id)
    assert ticket.escalation_level is EscalationLevel.TIER2
    assert ticket.status is TicketStatus.QUEUED and ticket.assignee_id is None
    # Only a tier-2 agent may take it now: the one who escalated is not offered it back.
    assert offer_of(database, ticket_id)[1] == second.agent_id
    (move,) = moves_of(database, ticket_id)
    assert move.move is EscalationMove.UP and move.ack_state is AckState.AWAITING
    assert as_utc(move.ack_due_at) == clock.now() + timedelta(minutes=30)
    (event,) = events_of_kind(database, "escalation.escalated")
    assert event.actor_kind is AuthorKind.AGENT and event.actor_id == front.agent_id
    assert event.data["from"] == "frontline" and event.data["to"] == "tier2"
    assert event.data["reason"] == "needs_expertise"
    assert event.data["note"] == "Tried a password reset twice; the 2FA device is lost."
    # The loader's version of escalation_paths.yaml (one notion of version for every policy kind).
    assert event.data["policy_version"] == loaded_version("escalation_paths") is not None

    accept_as(database, *offer_of(database, ticket_id))
    clock.advance(minutes=10)
    _acknowledge(database, ticket_id, second.agent_id)
    (move,) = moves_of(database, ticket_id)
    assert move.ack_state is AckState.ACKNOWLEDGED and move.acknowledged_by_id == second.agent_id
    (ack,) = events_of_kind(database, "escalation.acknowledged")
    assert ack.data["waited_seconds"] == 600 and ack.data["within_target"] is True

    # Its pickup timer runs at the target and finds it picked up: nothing moves.
    clock.advance(minutes=25)
    run_jobs(database)
    assert reload_ticket(database, ticket_id).escalation_level is EscalationLevel.TIER2
    assert events_of_kind(database, "escalation.pickup_overdue") == []
    with pytest.raises(ConflictError, match="acknowledged already"):
        _acknowledge(database, ticket_id, second.agent_id)


def test_an_escalation_nobody_picks_up_in_time_escalates_further(database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    second = routing_agent(database, "Second", tier=2, team_ids=(support,), online=False)
    lead = routing_agent(database, "Lead", tier=2, role=Role.LEAD, team_ids=(support,), online=False)
    first = _escalate(database, ticket_id, reason="needs_expertise", actor=as_agent(front.agent_id))

    clock.advance(minutes=29)
    run_jobs(database)
    assert reload_ticket(database, ticket_id).escalation_level is EscalationLevel.TIER2

    clock.advance(minutes=2)
    with database.transaction() as session:  # both come online: only one of them may take it now
        for agent_id in (second.agent_id, lead.agent_id):
            agents.set_status(agents.get_agent(session, agent_id), AgentStatus.ONLINE)
    run_jobs(database)

    ticket = reload_ticket(database, ticket_id)
    assert ticket.escalation_level is EscalationLevel.TEAM_LEAD
    before, after = moves_of(database, ticket_id)
    assert before.id == first and before.ack_state is AckState.SUPERSEDED
    assert after.reason == "pickup_overdue" and after.actor_kind is AuthorKind.SYSTEM
    assert after.ack_state is AckState.AWAITING
    assert as_utc(after.ack_due_at) == clock.now() + timedelta(minutes=20)
    (overdue,) = events_of_kind(database, "escalation.pickup_overdue")
    assert overdue.data["level"] == "tier2" and overdue.data["escalates_to"] == "team_lead"
    # The team-lead level needs the lead role: the tier-2 agent without it is not offered the ticket.
    assert offer_of(database, ticket_id)[1] == lead.agent_id

    # The timer of the superseded escalation running again changes nothing.
    with database.transaction() as session:
        assert escalation.check_pickup(session, first) is None
    assert len(moves_of(database, ticket_id)) == 2


def test_de_escalation_returns_the_ticket_to_who_escalated_it_with_the_note(database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))
    _escalate(database, ticket_id, reason="needs_expertise", actor=as_agent(front.agent_id))
    accept_as(database, *offer_of(database, ticket_id))
    _acknowledge(database, ticket_id, second.agent_id)

    clock.advance(minutes=15)
    note = "Reset the 2FA device; the customer can sign in. Please confirm with them and close."
    with database.transaction() as session:
        escalation.de_escalate(session, ticket_id, note=note, actor=as_agent(second.agent_id))

    ticket = reload_ticket(database, ticket_id)
    assert ticket.escalation_level is EscalationLevel.FRONTLINE
    assert ticket.assignee_id == front.agent_id and ticket.status is TicketStatus.OPEN
    down = moves_of(database, ticket_id)[-1]
    assert down.move is EscalationMove.DOWN and down.note == note
    assert down.ack_state is AckState.NOT_NEEDED and down.ack_due_at is None
    (event,) = events_of_kind(database, "escalation.de_escalated")
    assert event.data["note"] == note and event.actor_id == second.agent_id
    assert (event.data["from"], event.data["to"]) == ("tier2", "frontline")

    with pytest.raises(ConflictError, match="bottom of its path"), database.transaction() as session:
        escalation.de_escalate(session, ticket_id, note="again", actor=as_agent(front.agent_id))


def test_legal_goes_only_to_the_restricted_legal_team(database, paths, clock):
    support = routing_team(database, "Support")
    legal = make_team(database, "Legal", restricted=True)
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    routing_agent(database, "Senior", tier=5, role=Role.MANAGER, team_ids=(support,))
    counsel = routing_agent(database, "Counsel", tier=1, team_ids=(legal,))

    _escalate(
        database,
        ticket_id,
        to_level=EscalationLevel.LEGAL,
        reason="legal_threat",
        note="The customer says their lawyer will write.",
        actor=as_agent(front.agent_id),
    )

    ticket = reload_ticket(database, ticket_id)
    assert ticket.escalation_level is EscalationLevel.LEGAL and ticket.team_id == legal
    assert offer_of(database, ticket_id)[1] == counsel.agent_id


def test_the_legal_level_refuses_a_team_that_is_not_restricted(database, paths, clock):
    support = routing_team(database, "Support")
    routing_team(database, "Legal")  # a legal team someone forgot to restrict
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)

    with pytest.raises(ConflictError, match="restricted team"):
        _escalate(database, ticket_id, to_level=EscalationLevel.LEGAL, reason="legal_threat")
    assert reload_ticket(database, ticket_id).escalation_level is EscalationLevel.FRONTLINE


def test_functional_escalation_moves_the_ticket_sideways_to_another_team_at_its_level(database, paths, clock):
    support = routing_team(database, "Support")
    billing = routing_team(database, "Billing")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    biller = routing_agent(database, "Biller", tier=1, team_ids=(billing,))

    _escalate(database, ticket_id, to_team_id=billing, reason="wrong_team", actor=as_agent(front.agent_id))

    ticket = reload_ticket(database, ticket_id)
    assert ticket.team_id == billing and ticket.escalation_level is EscalationLevel.FRONTLINE
    assert offer_of(database, ticket_id)[1] == biller.agent_id
    (move,) = moves_of(database, ticket_id)
    assert move.move is EscalationMove.SIDEWAYS and move.ack_state is AckState.AWAITING
    # Frontline's own pickup target applies to a move at frontline.
    assert as_utc(move.ack_due_at) == clock.now() + timedelta(minutes=60)


def test_only_the_receiver_acknowledges(database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))
    other_second = routing_agent(database, "Other", tier=2, team_ids=(support,), online=False)
    _escalate(database, ticket_id, reason="needs_expertise", actor=as_agent(front.agent_id))

    # While nobody holds it, anyone serving tier 2 may pick it up; not the frontline agent.
    with pytest.raises(PermissionDeniedError):
        _acknowledge(database, ticket_id, front.agent_id)
    accept_as(database, *offer_of(database, ticket_id))
    # Once someone holds it, only they do.
    with pytest.raises(PermissionDeniedError):
        _acknowledge(database, ticket_id, other_second.agent_id)
    _acknowledge(database, ticket_id, second.agent_id)


def test_a_reason_must_come_from_the_list_and_a_level_from_the_path(database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)

    with pytest.raises(ValidationFailedError, match="needs_expertise, legal_threat"):
        _escalate(database, ticket_id, reason="bored")
    with pytest.raises(ValidationFailedError, match="not on path 'support'"):
        _escalate(database, ticket_id, to_level=EscalationLevel.EXPERT, reason="needs_expertise")
    assert moves_of(database, ticket_id) == []


def test_a_missed_pickup_never_escalates_into_legal(database, paths, clock):
    support = routing_team(database, "Support")
    make_team(database, "Legal", restricted=True)
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = _held_by(database, front.agent_id, support)
    _escalate(database, ticket_id, to_level=EscalationLevel.TEAM_LEAD, reason="needs_expertise")

    clock.advance(minutes=21)
    run_jobs(database)

    assert reload_ticket(database, ticket_id).escalation_level is EscalationLevel.TEAM_LEAD
    (overdue,) = events_of_kind(database, "escalation.pickup_overdue")
    assert overdue.data["level"] == "team_lead" and overdue.data["escalates_to"] is None
    (move,) = moves_of(database, ticket_id)
    assert move.ack_state is AckState.AWAITING  # still for the team lead to pick up, and shown overdue
