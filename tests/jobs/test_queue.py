import os
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from relaydesk.jobs import enqueue
from relaydesk.jobs.models import Job, JobState
from relaydesk.jobs.queue import backoff_delay, extend_lease, lease_due_jobs, record_failure
from relaydesk.jobs.registry import periodic, registered_tasks
from relaydesk.jobs.worker import Worker, schedule_periodic_jobs
from relaydesk.kit.time import utcnow
from relaydesk.tickets.models import TicketEvent
from tests.factories import events_of_kind, make_ticket
from tests.jobs import handlers  # noqa: F401  (registers testjobs.*)


def _ticket_without_jobs(database) -> int:
    """A ticket, and no jobs: creating one enqueues the SLA and routing follow-ups, and these tests
    count only the jobs they enqueue themselves."""
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        session.execute(delete(Job))
    return ticket_id


def _jobs(db):
    with db.transaction() as session:
        return session.scalars(select(Job).order_by(Job.id)).all()


def test_job_enqueued_in_a_rolled_back_transaction_never_exists(database):
    with pytest.raises(RuntimeError), database.transaction() as session:
        enqueue(session, "testjobs.noop")
        raise RuntimeError("the change failed")
    assert _jobs(database) == []


def test_worker_runs_a_due_job_and_marks_it_done(database):
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.record", ticket_id=ticket_id, key=1)
    assert Worker(database, schedule_periodic=False).run_once() == 1
    [job] = _jobs(database)
    assert job.state is JobState.DONE and job.attempts == 1 and job.finished_at is not None


def test_future_job_waits_for_its_time(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.noop", run_at=utcnow() + timedelta(hours=1))
    assert Worker(database, schedule_periodic=False).run_once() == 0


def test_failure_is_retried_with_backoff_then_dead_lettered_with_the_error(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.fail", max_attempts=3)
    worker = Worker(database, schedule_periodic=False)
    for attempt in range(1, 4):
        assert worker.run_once() == 1
        [job] = _jobs(database)
        assert job.attempts == attempt
        if attempt < 3:
            assert job.state is JobState.QUEUED and job.run_at > utcnow()
            with database.transaction() as session:  # skip the wait
                session.execute(update(Job).values(run_at=utcnow()))
    assert job.state is JobState.DEAD
    assert "the provider is down" in job.last_error


def _skip_backoff(database):
    with database.transaction() as session:
        session.execute(update(Job).where(Job.state == JobState.QUEUED).values(run_at=utcnow()))


def test_a_task_s_own_max_attempts_dead_letters_it_before_the_global_limit(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.fail_twice_at_most")  # @task(max_attempts=2); the setting says 8
    worker = Worker(database, schedule_periodic=False)
    assert worker.run_once() == 1
    [job] = _jobs(database)
    assert job.state is JobState.QUEUED and job.attempts == 1
    _skip_backoff(database)
    assert worker.run_once() == 1
    [job] = _jobs(database)
    assert job.state is JobState.DEAD and job.attempts == 2
    assert "the provider refuses this one" in job.last_error


def test_a_limit_given_to_enqueue_wins_over_the_task_s_own(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.fail_twice_at_most", max_attempts=1)
    Worker(database, schedule_periodic=False).run_once()
    [job] = _jobs(database)
    assert job.state is JobState.DEAD and job.attempts == 1


def test_an_expired_lease_uses_up_no_attempt_but_a_failure_does(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.fail", max_attempts=2)
    for _ in range(2):  # two workers killed while running it
        with database.transaction() as session:
            [_leased] = lease_due_jobs(session, worker_id="killed-worker", limit=10, lease_seconds=60)
            session.execute(update(Job).values(leased_until=utcnow() - timedelta(seconds=1)))
    worker = Worker(database, schedule_periodic=False)
    assert worker.run_once() == 1
    [job] = _jobs(database)
    assert job.state is JobState.QUEUED, "the crashes must not have used up the job's two attempts"
    assert job.attempts == 1 and job.expired_leases == 2
    _skip_backoff(database)
    worker.run_once()
    [job] = _jobs(database)
    assert job.state is JobState.DEAD and job.attempts == 2


def test_a_job_that_keeps_killing_its_workers_is_dead_lettered_without_running_again(database, monkeypatch):
    from relaydesk.settings import reset_settings_cache

    monkeypatch.setenv("RELAYDESK_JOB_MAX_ATTEMPTS", "2")
    reset_settings_cache()
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.record", ticket_id=ticket_id, key=3)
    for _ in range(2):  # two workers died running it; the third gives up instead of dying too
        with database.transaction() as session:
            lease_due_jobs(session, worker_id="killed-worker", limit=10, lease_seconds=60)
            session.execute(update(Job).values(leased_until=utcnow() - timedelta(seconds=1)))
    Worker(database, schedule_periodic=False).run_once()
    [job] = _jobs(database)
    assert job.state is JobState.DEAD and "lease expired 2 times" in job.last_error
    assert events_of_kind(database, "test.job_ran") == []


def test_two_workers_in_one_process_have_distinct_ids_so_neither_completes_the_other_s_job(database):
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.record", ticket_id=ticket_id, key=5)
    holder, other = Worker(database, schedule_periodic=False), Worker(database, schedule_periodic=False)
    assert holder.worker_id != other.worker_id
    assert holder.worker_id.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    with database.transaction() as session:
        [job] = lease_due_jobs(session, worker_id=holder.worker_id, limit=1, lease_seconds=60)
    other.run_job(job)
    assert events_of_kind(database, "test.job_ran") == []
    holder.run_job(job)
    assert len(events_of_kind(database, "test.job_ran")) == 1


def test_the_server_s_in_process_worker_has_an_id_of_its_own(database):
    from fastapi.testclient import TestClient

    from relaydesk.app import create_app

    with database.transaction() as session:
        enqueue(session, "testjobs.noop")
    with TestClient(create_app(run_worker=True)):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            [job] = [j for j in _jobs(database) if j.name == "testjobs.noop"]
            if job.state is JobState.DONE:
                break
            time.sleep(0.05)
    assert job.state is JobState.DONE
    assert job.leased_by.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert job.leased_by != Worker(database).worker_id


def test_only_the_lease_holder_extends_a_lease_or_records_a_failure(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.fail")
    with database.transaction() as session:
        [job] = lease_due_jobs(session, worker_id="holder", limit=1, lease_seconds=60)
    with database.transaction() as session:
        assert extend_lease(session, job, "intruder", 3600) is False
        assert record_failure(session, job, "intruder", "boom", max_attempts=1, base=1, cap=1) is None
    [row] = _jobs(database)
    assert row.state is JobState.RUNNING and row.leased_by == "holder" and row.last_error is None
    assert row.leased_until < utcnow() + timedelta(seconds=120)
    with database.transaction() as session:
        assert extend_lease(session, job, "holder", 3600) is True
        assert record_failure(session, job, "holder", "boom", max_attempts=1, base=1, cap=1) is JobState.DEAD


def test_unknown_job_name_dead_letters_with_a_clear_error(database):
    with database.transaction() as session:
        enqueue(session, "nobody.handles_this", max_attempts=1)
    Worker(database, schedule_periodic=False).run_once()
    [job] = _jobs(database)
    assert job.state is JobState.DEAD and "no handler registered" in job.last_error


def test_expired_lease_makes_the_job_runnable_again(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.noop")
    with database.transaction() as session:
        [_leased] = lease_due_jobs(session, worker_id="dead-worker", limit=10, lease_seconds=60)
    assert Worker(database, schedule_periodic=False).run_once() == 0  # still leased by the (dead) worker
    with database.transaction() as session:
        session.execute(update(Job).values(leased_until=utcnow() - timedelta(seconds=1)))
    assert Worker(database, schedule_periodic=False).run_once() == 1
    [job] = _jobs(database)
    # The dead worker's run never finished: one attempt (the run that did), one expired lease.
    assert job.state is JobState.DONE and job.attempts == 1 and job.expired_leases == 1


def test_a_worker_that_lost_its_lease_cannot_complete_the_job(database):
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.record", ticket_id=ticket_id, key=7)
    slow = Worker(database, name="slow", schedule_periodic=False)
    with database.transaction() as session:
        [job] = lease_due_jobs(session, worker_id="slow", limit=1, lease_seconds=60)
        # Another worker took the job over after the lease expired.
        session.execute(update(Job).values(leased_by="other"))
    slow.run_job(job)
    with database.transaction() as session:
        assert session.scalar(select(Job.state)) is JobState.RUNNING
        assert session.scalars(select(TicketEvent).where(TicketEvent.kind == "test.job_ran")).all() == []


def test_dedupe_key_keeps_one_live_job(database):
    with database.transaction() as session:
        first = enqueue(session, "testjobs.noop", dedupe_key="once")
        second = enqueue(session, "testjobs.noop", dedupe_key="once")
    assert first is not None and second is None
    assert len(_jobs(database)) == 1


def test_periodic_slot_is_enqueued_once_by_many_workers(database):
    @periodic("testjobs.every_hour", every=timedelta(hours=1))
    def every_hour(session):
        return None

    try:
        created = [schedule_periodic_jobs(database) for _ in range(3)]
        names = [j.name for j in _jobs(database)]
        assert names.count("testjobs.every_hour") == 1
        assert created[1] == 0 and created[2] == 0
    finally:
        from relaydesk.jobs import registry

        registry._tasks.pop("testjobs.every_hour")


def test_job_arguments_must_be_ids_not_objects(database):
    with pytest.raises(TypeError, match="id or scalar"), database.transaction() as session:
        enqueue(session, "testjobs.noop", ticket=object())


def test_backoff_grows_and_is_capped():
    assert backoff_delay(1, base=2, cap=100) <= 2
    assert 16 <= backoff_delay(5, base=2, cap=1000) * 2 <= 64
    assert backoff_delay(30, base=2, cap=100) <= 100


def test_every_registered_job_follows_the_naming_rule():
    from relaydesk.jobs import discover_tasks

    discover_tasks()
    assert "tickets.close_resolved" in registered_tasks()
    assert all("." in name for name in registered_tasks())


def test_concurrent_leases_on_postgres_never_overlap(database):
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers; SKIP LOCKED is a PostgreSQL path")
    with database.transaction() as session:
        for _ in range(20):
            enqueue(session, "testjobs.noop")
    first = database.sessionmaker()
    second = database.sessionmaker()
    try:
        first.begin()
        a = lease_due_jobs(first, worker_id="a", limit=10, lease_seconds=60)
        second.begin()
        # While the first transaction still holds its rows, the second skips them instead of waiting.
        b = lease_due_jobs(second, worker_id="b", limit=20, lease_seconds=60)
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert len(a) == 10 and len(b) == 10
    assert not {j.id for j in a} & {j.id for j in b}


def test_a_long_job_holds_its_lease_longer_and_no_write_lock_while_it_works(database):
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.long_record", ticket_id=ticket_id, key=1)
    started = utcnow()
    # On SQLite a claim taken before the work would hold the one write lock: the handler's second
    # transaction would wait for it (30 s busy timeout) and fail.
    assert Worker(database, schedule_periodic=False).run_once() == 1
    [job] = _jobs(database)
    assert job.state is JobState.DONE
    assert job.leased_until is not None and job.leased_until >= started + timedelta(seconds=1700)
    assert (
        len(events_of_kind(database, "test.written_meanwhile")) == 1
        and len(events_of_kind(database, "test.job_ran")) == 1
    )


def test_a_long_job_taken_over_while_it_worked_rolls_back_its_writes(database):
    ticket_id = _ticket_without_jobs(database)
    with database.transaction() as session:
        enqueue(session, "testjobs.long_record", ticket_id=ticket_id, key=2, take_over=True)
    Worker(database, schedule_periodic=False).run_once()
    [job] = _jobs(database)
    assert job.state is JobState.RUNNING and job.leased_by == "other"  # the new holder will finish it
    assert events_of_kind(database, "test.job_ran") == []
    assert len(events_of_kind(database, "test.written_meanwhile")) == 1
