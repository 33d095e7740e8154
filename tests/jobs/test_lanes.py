"""Lanes: live work (chat replies, routing) never waits behind triage or model work."""

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from relaydesk.jobs import JobLane, enqueue
from relaydesk.jobs.models import Job, JobState
from relaydesk.jobs.queue import lease_due_jobs
from relaydesk.jobs.worker import InProcessWorkers, Worker, parse_lanes
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Message, Ticket
from relaydesk.tickets.schemas import MessageCreate
from tests.factories import make_ticket, run_cli
from tests.jobs import handlers


def _jobs_named(database, name: str) -> list[Job]:
    with database.transaction() as session:
        return list(session.scalars(select(Job).where(Job.name == name).order_by(Job.id)))


def _wait_until_done(database, job_id: int, timeout: float) -> float:
    """Seconds until the job is done; fails the test after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with database.transaction() as session:
            if session.get(Job, job_id).state is JobState.DONE:  # type: ignore[union-attr]
                return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"job {job_id} was not done within {timeout} s")


@pytest.fixture
def slow_jobs() -> Iterator[None]:
    """Slow jobs block until the test ends (or 30 s), then every one of them finishes."""
    handlers.release_slow_jobs.clear()
    while handlers.slow_jobs_started.acquire(blocking=False):
        pass
    yield
    handlers.release_slow_jobs.set()


@pytest.fixture
def in_process_workers(database) -> Iterator[InProcessWorkers]:
    """The server's in-process workers, leasing one job at a time so the test knows which slot takes what."""
    workers = InProcessWorkers(database, settings=get_settings().model_copy(update={"job_batch_size": 1}))
    yield workers
    handlers.release_slow_jobs.set()
    workers.stop(timeout=35)


def test_a_live_job_runs_at_once_while_every_other_slot_is_busy_with_slow_work(
    database, slow_jobs, in_process_workers
):
    with database.transaction() as session:
        for _ in range(2):
            enqueue(session, "testjobs.slow_default")
        for _ in range(3):
            enqueue(session, "testjobs.slow_bulk")
    in_process_workers.start()
    for _ in range(2):  # both slots that take default work are held by a slow job
        assert handlers.slow_jobs_started.acquire(timeout=10)
    with database.transaction() as session:
        live_id = enqueue(session, "testjobs.live_noop")
    assert live_id is not None
    assert _wait_until_done(database, live_id, timeout=5) < 2
    [live] = _jobs_named(database, "testjobs.live_noop")
    assert live.leased_by == in_process_workers.workers[0].worker_id  # the slot kept for live work
    assert all(j.state is JobState.RUNNING for j in _jobs_named(database, "testjobs.slow_default"))
    assert all(j.state is JobState.QUEUED for j in _jobs_named(database, "testjobs.slow_bulk"))


def test_on_postgres_a_live_job_runs_while_normal_jobs_work_inside_their_transactions(
    database, slow_jobs, in_process_workers
):
    # SQLite has one writer: a normal job's open transaction holds it (see jobs/README.md, "Lanes").
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers; a normal job's transaction holds the writer lock")
    with database.transaction() as session:
        for _ in range(3):
            enqueue(session, "testjobs.slow_normal")
    in_process_workers.start()
    for _ in range(2):
        assert handlers.slow_jobs_started.acquire(timeout=10)
    with database.transaction() as session:
        live_id = enqueue(session, "testjobs.live_noop")
    assert live_id is not None
    assert _wait_until_done(database, live_id, timeout=5) < 2


def test_slow_bulk_jobs_hold_one_slot_however_many_wait(database, slow_jobs, in_process_workers):
    with database.transaction() as session:
        for _ in range(4):
            enqueue(session, "testjobs.slow_bulk")
    in_process_workers.start()
    assert handlers.slow_jobs_started.acquire(timeout=10)
    with database.transaction() as session:
        default_id = enqueue(session, "testjobs.noop")
        live_id = enqueue(session, "testjobs.live_noop")
    assert default_id is not None and live_id is not None
    assert _wait_until_done(database, live_id, timeout=5) < 2
    assert _wait_until_done(database, default_id, timeout=5) < 2
    assert not handlers.slow_jobs_started.acquire(timeout=0.3)  # no second bulk job started
    states = [j.state for j in _jobs_named(database, "testjobs.slow_bulk")]
    assert sorted(states) == [JobState.QUEUED] * 3 + [JobState.RUNNING]


def test_due_jobs_are_leased_most_urgent_lane_first_then_oldest_first(database):
    with database.transaction() as session:
        old_bulk = enqueue(session, "testjobs.noop", lane=JobLane.BULK, run_at=utcnow() - timedelta(hours=1))
        default = enqueue(session, "testjobs.noop", run_at=utcnow() - timedelta(minutes=5))
        second_live = enqueue(session, "testjobs.live_noop")
        first_live = enqueue(session, "testjobs.live_noop", run_at=utcnow() - timedelta(seconds=1))
    order = []
    for _ in range(4):
        with database.transaction() as session:
            [job] = lease_due_jobs(session, worker_id="w", limit=1, lease_seconds=60)
        order.append(job.id)
    assert order == [first_live, second_live, default, old_bulk]


def test_one_batch_runs_its_live_jobs_before_its_bulk_job_and_takes_one_bulk_job_at_most(database):
    with database.transaction() as session:
        bulk = [enqueue(session, "testjobs.noop", lane="bulk") for _ in range(3)]
        default = enqueue(session, "testjobs.noop")
        live = enqueue(session, "testjobs.live_noop")
    with database.transaction() as session:
        batch = lease_due_jobs(session, worker_id="w", limit=32, lease_seconds=60)
    assert [j.id for j in batch] == [live, default, bulk[0]]
    assert [j.lane for j in batch] == [JobLane.LIVE, JobLane.DEFAULT, JobLane.BULK]


def test_a_worker_leases_only_the_lanes_it_serves(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.noop", lane=JobLane.BULK)
        enqueue(session, "testjobs.noop")
        live_id = enqueue(session, "testjobs.live_noop")
    live_worker = Worker(database, schedule_periodic=False, lanes=[JobLane.LIVE])
    assert live_worker.run_once() == 1
    assert live_worker.run_once() == 0
    with database.transaction() as session:
        done = session.scalars(select(Job.id).where(Job.state == JobState.DONE)).all()
    assert done == [live_id]
    assert Worker(database, schedule_periodic=False, lanes=[JobLane.DEFAULT, JobLane.BULK]).run_once() == 2


def test_a_job_waits_in_its_task_s_lane_unless_the_caller_names_one(database):
    with database.transaction() as session:
        by_task = enqueue(session, "testjobs.slow_bulk")
        named = enqueue(session, "testjobs.slow_bulk", lane="live")
        unknown = enqueue(session, "nobody.registered_this")
    with database.transaction() as session:
        lanes = {j.id: j.lane for j in session.scalars(select(Job))}
    assert lanes == {by_task: JobLane.BULK, named: JobLane.LIVE, unknown: JobLane.DEFAULT}


def test_a_reply_to_a_chat_is_delivered_in_the_live_lane_and_an_email_in_the_default_lane(database):
    chat = make_ticket(database, channel=Channel.WEB_CHAT, email="visitor@example.com")
    email = make_ticket(database, email="writer@example.com")
    with database.transaction() as session:
        for ticket_id in (chat, email):
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            tickets.add_agent_message(session, ticket, MessageCreate(body="On its way.", public=True), None)
    lanes = {j.args["message_id"]: j.lane for j in _jobs_named(database, "channels.deliver_message")}
    with database.transaction() as session:
        replies = dict(
            session.execute(select(Message.ticket_id, Message.id).where(Message.body_text == "On its way."))
            .tuples()
            .all()
        )
    assert lanes == {replies[chat]: JobLane.LIVE, replies[email]: JobLane.DEFAULT}


def test_every_registered_model_job_waits_in_the_bulk_lane():
    from relaydesk.jobs import discover_tasks
    from relaydesk.jobs.registry import registered_tasks

    discover_tasks()
    assert registered_tasks()["classification.retrain_head"].lane is JobLane.BULK


def test_jobs_written_before_lanes_existed_wait_in_the_default_lane(database):
    # The migration's server default: a row that names no lane (an old writer) reads as default.
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO jobs (name, args, state, run_at, attempts, expired_leases, created_at) "
                "VALUES ('testjobs.noop', '{}', 'queued', :now, 0, 0, :now)"
            ),
            {"now": utcnow()},
        )
    [job] = _jobs_named(database, "testjobs.noop")
    assert job.lane is JobLane.DEFAULT


def test_lanes_are_named_on_the_command_line_or_refused_with_the_ones_there_are(database):
    assert parse_lanes("default, live") == (JobLane.DEFAULT, JobLane.LIVE)
    with pytest.raises(ValueError, match="the lanes are live, default, bulk"):
        parse_lanes("live,urgent")
    result = run_cli("worker", "--lanes", "urgent", "--burst", check=False)
    assert result.returncode == 2 and "unknown lane 'urgent'" in result.stderr


def test_a_worker_process_serving_only_live_leaves_other_lanes_waiting(database):
    with database.transaction() as session:
        enqueue(session, "testjobs.noop")
        enqueue(session, "testjobs.live_noop")
    run_cli("worker", "--lanes", "live", "--burst", "--import", "tests.jobs.handlers")
    assert [j.state for j in _jobs_named(database, "testjobs.live_noop")] == [JobState.DONE]
    assert [j.state for j in _jobs_named(database, "testjobs.noop")] == [JobState.QUEUED]


def test_stopping_the_in_process_workers_stops_every_thread(database):
    workers = InProcessWorkers(database)
    workers.start()
    workers.stop(timeout=10)
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("relaydesk-worker-"))
