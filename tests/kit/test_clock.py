"""One clock for the whole process: services, jobs and table defaults all read time through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from relaydesk.db import Database
from relaydesk.jobs import enqueue
from relaydesk.jobs.models import Job, JobState
from relaydesk.jobs.worker import Worker
from relaydesk.kit.time import ManualClock, SystemClock, get_clock, use_clock, utcnow
from relaydesk.tickets import service as tickets
from tests.factories import make_ticket

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    with use_clock(clock):
        assert utcnow() == START
        assert clock.advance(minutes=90) == START + timedelta(minutes=90)
        assert utcnow() == START + timedelta(minutes=90)
        with pytest.raises(ValueError, match="backwards"):
            clock.advance(timedelta(seconds=-1))
    assert isinstance(get_clock(), SystemClock)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_tickets_and_their_events_are_stamped_with_the_clock(database: Database, clock: ManualClock) -> None:
    ticket_id = make_ticket(database)
    clock.advance(hours=2)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        assert ticket is not None
        assert ticket.created_at == START
        assert ticket.last_customer_message_at == START
        events, _ = tickets.list_events(session, ticket, cursor=None, limit=50)
        assert events and {event.created_at for event in events} == {START}


def test_a_delayed_job_waits_for_the_clock_not_the_wall(database: Database, clock: ManualClock) -> None:
    with database.transaction() as session:
        enqueue(session, "test.clock_probe", run_at=START + timedelta(minutes=30))
    worker = Worker(database, schedule_periodic=False)
    worker.run_once()
    with database.transaction() as session:
        job = session.scalars(select(Job)).one()
        assert (job.state, job.attempts) == (JobState.QUEUED, 0), "not due yet on the manual clock"
        assert job.created_at == START
    clock.advance(minutes=31)
    worker.run_once()
    with database.transaction() as session:
        job = session.scalars(select(Job)).one()
        # No handler is registered for the probe: the worker tried it, which is what shows it was due.
        assert job.attempts == 1, "due once the clock passed run_at"
