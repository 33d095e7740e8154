"""A worker killed with SIGKILL while holding jobs loses none of them and none runs twice in effect."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from relaydesk.jobs import enqueue
from relaydesk.jobs.models import Job, JobState
from relaydesk.tickets.models import TicketEvent
from tests.factories import make_ticket

ROOT = Path(__file__).resolve().parents[2]
JOBS = 40


def _start_worker(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        RELAYDESK_DATABASE_URL=database_url,
        RELAYDESK_JOB_LEASE_SECONDS="2",
        RELAYDESK_JOB_BATCH_SIZE="10",
        RELAYDESK_JOB_POLL_SECONDS="0.1",
        # src first: the worker must run this checkout's code, not whatever the virtualenv installed.
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "relaydesk.cli", "worker", "--import", "tests.jobs.handlers"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _wait_for(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_sigkilled_worker_loses_no_job_and_runs_none_twice(database, database_url, tmp_path):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        for key in range(JOBS):
            enqueue(session, "testjobs.record", ticket_id=ticket_id, key=key, sleep=0.05)

    def count(state):
        with database.transaction(read_only=True) as session:
            return session.scalar(
                select(func.count()).select_from(Job).where(Job.state == state, Job.name == "testjobs.record")
            )

    first = _start_worker(database_url, tmp_path / "worker-a.log")
    try:
        _wait_for(
            lambda: count(JobState.DONE) >= 3 and count(JobState.RUNNING) > 0,
            60,
            "first jobs",
            tmp_path / "worker-a.log",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    held = count(JobState.RUNNING)
    assert held > 0, "the killed worker should have died holding leased jobs"
    assert count(JobState.DONE) < JOBS

    second = _start_worker(database_url, tmp_path / "worker-b.log")
    try:
        _wait_for(
            lambda: count(JobState.DONE) == JOBS,
            90,
            "all jobs done after the lease expired",
            tmp_path / "worker-b.log",
        )
    finally:
        second.terminate()
        second.wait(timeout=30)

    with database.transaction() as session:
        keys = session.scalars(
            select(TicketEvent.actor_id).where(
                TicketEvent.kind == "test.job_ran", TicketEvent.ticket_id == ticket_id
            )
        ).all()
        retried = session.scalar(select(func.count()).select_from(Job).where(Job.expired_leases >= 1))
    assert sorted(keys) == list(range(JOBS))  # every job ran, none twice
    assert retried >= 1  # at least one job was taken over from the dead worker
