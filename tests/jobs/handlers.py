"""Job handlers used by the worker tests (imported into worker processes with --import)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from relaydesk.jobs import task
from relaydesk.jobs.models import Job, JobLane, JobState
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.models import TicketEvent


@task("testjobs.record")
def record(session: Session, *, ticket_id: int, key: int, sleep: float = 0.0) -> None:
    """Write one event per key; idempotent, so a re-run after a crash changes nothing."""
    done = session.scalar(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket_id,
            TicketEvent.kind == "test.job_ran",
            TicketEvent.actor_id == key,
        )
    )
    if done is None:
        session.add(
            TicketEvent(
                ticket_id=ticket_id, kind="test.job_ran", actor_kind=AuthorKind.SYSTEM, actor_id=key, data={}
            )
        )
        session.flush()
    time.sleep(sleep)


@task("testjobs.fail")
def fail(session: Session, **_: object) -> None:
    raise RuntimeError("the provider is down")


@task("testjobs.noop")
def noop(session: Session, **_: object) -> None:
    return None


@task("testjobs.long_record", lease_seconds=1800)
def long_record(session: Session, *, ticket_id: int, key: int, take_over: bool = False) -> None:
    """A long job: while it "works", another transaction writes (and, with ``take_over``, steals it)."""
    engine = session.get_bind()
    with Session(engine) as other, other.begin():  # would wait for a write lock held by this job
        other.add(
            TicketEvent(
                ticket_id=ticket_id, kind="test.written_meanwhile", actor_kind=AuthorKind.SYSTEM, data={}
            )
        )
        if take_over:
            other.execute(update(Job).where(Job.state == JobState.RUNNING).values(leased_by="other"))
    session.add(
        TicketEvent(
            ticket_id=ticket_id, kind="test.job_ran", actor_kind=AuthorKind.SYSTEM, actor_id=key, data={}
        )
    )
    session.flush()


@task("testjobs.fail_twice_at_most", max_attempts=2)
def fail_twice_at_most(session: Session, **_: object) -> None:
    raise RuntimeError("the provider refuses this one")


# Released by the lane tests; a long job (``lease_seconds``) blocks holding no write lock, as a
# retraining does while it learns, so the only thing it can take from other work is a worker slot.
release_slow_jobs = threading.Event()
slow_jobs_started = threading.Semaphore(0)


@task("testjobs.slow_bulk", lease_seconds=600, lane=JobLane.BULK)
def slow_bulk(session: Session, **_: object) -> None:
    slow_jobs_started.release()
    release_slow_jobs.wait(30)


@task("testjobs.slow_default", lease_seconds=600)
def slow_default(session: Session, **_: object) -> None:
    slow_jobs_started.release()
    release_slow_jobs.wait(30)


@task("testjobs.live_noop", lane="live")
def live_noop(session: Session, **_: object) -> None:
    return None


@task("testjobs.slow_normal")
def slow_normal(session: Session, **_: object) -> None:
    """A normal job that works for long inside its transaction (its completion claim already made)."""
    slow_jobs_started.release()
    release_slow_jobs.wait(30)
