"""SLA clocks, one scenario per test, on the injectable clock (Monday 7 December 2026, 09:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from relaydesk.policies import policy_version
from relaydesk.sla import service as sla
from relaydesk.sla.enums import ClockState, SlaTarget
from relaydesk.sla.models import SlaClock
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, EscalationLevel, Priority, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import MessageCreate, StatusChange, TicketUpdate
from tests.factories import events_of_kind, make_agent, make_ticket, run_jobs

SYSTEM = Actor(AuthorKind.SYSTEM)


def _clocks(database, ticket_id):
    with database.transaction() as session:
        return {c.target: c for c in sla.ticket_clocks(session, ticket_id)}


def _reply_as_agent(database, ticket_id, agent_id, *, public=True):
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.add_agent_message(session, ticket, MessageCreate(body="On it.", public=public), agent_id)
    run_jobs(database)


def _set_clock_status(database, ticket_id, status):
    with database.transaction() as session:
        tickets.change_status(
            session, tickets.get_ticket(session, ticket_id), StatusChange(status=status), SYSTEM
        )
    run_jobs(database)


def _update_ticket(database, ticket_id, **changes):
    with database.transaction() as session:
        tickets.update_ticket(
            session, tickets.get_ticket(session, ticket_id), TicketUpdate(**changes), SYSTEM
        )
    run_jobs(database)


def _customer_writes(database, ticket_id):
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.add_customer_message(session, ticket, body="Any news?", channel=Channel.EMAIL)
    run_jobs(database)


def _tick(database):
    with database.transaction() as session:
        return sla.tick(session)


def test_a_new_ticket_starts_its_targets_and_the_first_reply_meets_first_response(
    database, sla_policies, clock
):
    agent = make_agent(database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    started = _clocks(database, ticket_id)
    assert set(started) == {SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION, SlaTarget.PERIODIC_UPDATE}
    assert started[SlaTarget.FIRST_RESPONSE].due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    clock.advance(minutes=10)
    _reply_as_agent(database, ticket_id, agent.agent_id, public=False)  # an internal note answers nobody
    assert _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE].state is ClockState.RUNNING
    _reply_as_agent(database, ticket_id, agent.agent_id)

    first = _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE]
    assert first.state is ClockState.MET and first.elapsed_seconds == 600
    [fulfilled] = [
        e for e in events_of_kind(database, "sla.fulfilled") if e.data["target"] == "first_response"
    ]
    assert fulfilled.data["elapsed_business_seconds"] == 600 and fulfilled.data["on_time"] is True
    assert fulfilled.data["policy_version"] == policy_version("sla")


def test_the_tick_marks_at_risk_then_breached_with_the_policy_version(database, sla_policies, clock):
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=44)
    assert _tick(database).processed == 0
    clock.advance(minutes=1)  # 45 of 60 minutes: the at-risk share (0.75)
    assert _tick(database).at_risk == 1
    assert _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE].state is ClockState.AT_RISK
    clock.advance(minutes=15)
    result = _tick(database)
    assert result.breached == 1
    [risk] = events_of_kind(database, "sla.at_risk")
    [breach] = events_of_kind(database, "sla.breached")
    assert risk.data["target"] == breach.data["target"] == "first_response"
    assert breach.data["policy_version"] == policy_version("sla") and breach.data["policy"] == "default"
    assert _tick(database).processed == 0  # a breach is written once


def test_pending_on_the_customer_pauses_and_resuming_keeps_elapsed_time(database, sla_policies, clock):
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=20)
    _set_clock_status(database, ticket_id, TicketStatus.PENDING_CUSTOMER)
    paused = _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE]
    assert paused.state is ClockState.PAUSED and paused.due_at is None and paused.elapsed_seconds == 1200

    clock.advance(hours=3)
    assert _tick(database).processed == 0
    _customer_writes(database, ticket_id)  # wakes the ticket (pending -> open)
    resumed = _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE]
    assert resumed.state is ClockState.RUNNING
    assert resumed.due_at == clock.now() + timedelta(minutes=40)


def test_each_customer_message_after_a_reply_starts_next_response(database, sla_policies, clock):
    agent = make_agent(database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    _customer_writes(database, ticket_id)  # before any reply: still the first response
    assert SlaTarget.NEXT_RESPONSE not in _clocks(database, ticket_id)
    _reply_as_agent(database, ticket_id, agent.agent_id)
    clock.advance(minutes=5)
    _customer_writes(database, ticket_id)
    assert _clocks(database, ticket_id)[SlaTarget.NEXT_RESPONSE].due_at == clock.now() + timedelta(minutes=30)
    clock.advance(minutes=12)
    _reply_as_agent(database, ticket_id, agent.agent_id)
    answered = _clocks(database, ticket_id)[SlaTarget.NEXT_RESPONSE]
    assert answered.state is ClockState.MET and answered.elapsed_seconds == 12 * 60


def test_a_priority_change_retargets_keeping_elapsed_time(database, sla_policies, clock):
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=30)
    _update_ticket(database, ticket_id, priority=Priority.URGENT)
    first = _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE]
    assert first.policy_name == "urgent" and first.target_seconds == 45 * 60
    assert first.due_at == clock.now() + timedelta(minutes=15)
    # At risk at 0.75 x 45 = 33m45s of business time, 3m45s from now.
    assert first.at_risk_at == clock.now() + timedelta(minutes=3, seconds=45)
    clock.advance(minutes=4)
    assert _tick(database).at_risk == 1
    # The urgent entry has no periodic update: that clock is cancelled, not left running.
    assert _clocks(database, ticket_id)[SlaTarget.PERIODIC_UPDATE].state is ClockState.CANCELLED


def test_business_hours_carry_a_target_over_the_weekend(database, sla_policies, clock):
    clock.set(datetime(2026, 12, 11, 16, 30, tzinfo=UTC))  # Friday, 16:30 in London
    ticket_id = make_ticket(database, channel=Channel.WEB_FORM)
    run_jobs(database)
    first = _clocks(database, ticket_id)[SlaTarget.FIRST_RESPONSE]
    assert first.calendar == "office"
    assert first.due_at == datetime(2026, 12, 14, 9, 30, tzinfo=UTC)


def test_resolving_meets_resolution_and_cancels_what_is_left(database, sla_policies, clock):
    agent = make_agent(database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    _reply_as_agent(database, ticket_id, agent.agent_id)
    clock.advance(hours=2)
    _set_clock_status(database, ticket_id, TicketStatus.RESOLVED)
    state = _clocks(database, ticket_id)
    assert state[SlaTarget.RESOLUTION].state is ClockState.MET
    assert state[SlaTarget.RESOLUTION].elapsed_seconds == 2 * 3600
    assert state[SlaTarget.PERIODIC_UPDATE].state is ClockState.CANCELLED
    # Reopened: the case goes on counting from what it had.
    _customer_writes(database, ticket_id)
    reopened = _clocks(database, ticket_id)[SlaTarget.RESOLUTION]
    assert reopened.state is ClockState.RUNNING
    assert reopened.due_at == clock.now() + timedelta(hours=6)


def test_an_escalation_starts_the_acknowledgement_target_until_acknowledged(database, sla_policies, clock):
    ticket_id = make_ticket(database)
    run_jobs(database)
    _update_ticket(database, ticket_id, escalation_level=EscalationLevel.TIER2)
    ack = _clocks(database, ticket_id)[SlaTarget.ACKNOWLEDGEMENT]
    assert ack.policy_name == "escalated" and ack.due_at == clock.now() + timedelta(minutes=15)
    clock.advance(minutes=5)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.record_event(session, ticket, "escalation.acknowledged", SYSTEM, {"level": "tier2"})
    run_jobs(database)
    ack = _clocks(database, ticket_id)[SlaTarget.ACKNOWLEDGEMENT]
    assert ack.state is ClockState.MET and ack.elapsed_seconds == 300


def test_the_tick_takes_due_clocks_a_batch_at_a_time(database, sla_policies, clock):
    for n in range(5):
        make_ticket(database, email=f"c{n}@example.com")
    run_jobs(database)
    clock.advance(minutes=50)
    with database.transaction() as session:
        assert sla.tick(session, batch=2).at_risk == 2
    with database.transaction() as session:
        assert sla.tick(session, batch=2).at_risk == 2
    with database.transaction() as session:
        assert sla.tick(session, batch=2).at_risk == 1
    with database.transaction() as session:
        states = session.scalars(select(SlaClock.state).where(SlaClock.target == SlaTarget.FIRST_RESPONSE))
        assert set(states) == {ClockState.AT_RISK}


def test_routing_orders_by_the_sla_due_time(database, sla_policies, clock):
    late = make_ticket(database, email="late@example.com")
    clock.advance(minutes=5)
    urgent = make_ticket(database, email="urgent@example.com")
    _update_ticket(database, urgent, priority=Priority.URGENT)  # follows both; urgent's first response: 45m
    with database.transaction() as session:
        first, second = tickets.get_ticket(session, late), tickets.get_ticket(session, urgent)
        assert sla.due_time(session, first, clock.now()) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        assert sla.due_time(session, second, clock.now()) == datetime(2026, 12, 7, 9, 50, tzinfo=UTC)


def test_before_the_follow_job_ran_the_due_time_is_the_one_its_clocks_will_have(
    database, sla_policies, clock
):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        assert sla.due_time(session, ticket, clock.now()) == clock.now() + timedelta(hours=1)
