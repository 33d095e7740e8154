"""Enqueue, lease, complete and fail jobs with plain SQL that runs on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, event, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from relaydesk.jobs.models import Job, JobLane, JobState
from relaydesk.jobs.registry import lane_of
from relaydesk.kit.time import utcnow

__all__ = [
    "LeasedJob",
    "backoff_delay",
    "claim_for_run",
    "enqueue",
    "extend_lease",
    "lease_due_jobs",
    "purge_finished",
    "record_failure",
    "wakeup",
]

# Set after a commit that enqueued work, so an in-process worker starts at once instead of polling.
wakeup = threading.Event()
_JSON_SCALARS = (int, str, float, bool, type(None))
_INSERT = insert(Job).returning(Job.id)


@dataclass(frozen=True)
class LeasedJob:
    id: int
    name: str
    args: dict[str, Any]
    attempts: int  # runs finished before this one
    max_attempts: int | None  # None: the task's own limit, else the setting (see ``attempt_limit``)
    expired_leases: int = 0  # times a worker took the job and never finished it (crashed, hung)
    lane: JobLane = JobLane.DEFAULT

    def attempt_limit(self, task_max_attempts: int | None, default: int) -> int:
        """The job's own limit (given to ``enqueue``), else its task's, else the setting."""
        return self.max_attempts or task_max_attempts or default


def enqueue(
    session: Session,
    name: str,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    lane: JobLane | str | None = None,
    **args: Any,
) -> int | None:
    """Write a job row in the caller's transaction; returns its id (None if the dedupe key exists).

    Arguments are ids and small scalars: the handler reloads what it needs, so a job never acts on a
    stale copy of state. Without ``max_attempts`` the task's ``@task(max_attempts=...)`` applies, else
    the ``job_max_attempts`` setting; the worker resolves it, since this process may not know the task.
    Without ``lane`` the job waits in its task's ``@task(lane=...)`` (the default lane for a task this
    process has not imported); a caller that knows better for one job (a reply to a chat the customer
    is watching) names the lane itself.
    """
    for key, value in args.items():
        if not isinstance(value, _JSON_SCALARS) and not (
            isinstance(value, list) and all(isinstance(v, _JSON_SCALARS) for v in value)
        ):
            raise TypeError(f"job argument {key!r} must be an id or scalar, not {type(value).__name__}")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    values = {
        "name": name,
        "args": args,
        "state": JobState.QUEUED,
        "run_at": run_at or utcnow(),
        "attempts": 0,
        "max_attempts": max_attempts,
        "lane": JobLane(lane) if lane is not None else lane_of(name),
        "expired_leases": 0,
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    if dedupe_key is None:
        job_id = session.execute(_INSERT, values).scalar()
    else:
        insert_fn = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert_fn(Job).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        job_id = session.execute(stmt.returning(Job.id)).scalar()
    session.info["relaydesk_enqueued"] = True
    return job_id


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop("relaydesk_enqueued", False):
        wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_enqueued(session: Session) -> None:
    session.info.pop("relaydesk_enqueued", None)


def lease_due_jobs(
    session: Session,
    *,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    lanes: Iterable[JobLane] = tuple(JobLane),
) -> list[LeasedJob]:
    """Lease up to ``limit`` due jobs from ``lanes``, most urgent lane first, including those whose
    previous lease expired (a dead worker).

    Each lane is leased by its own query (equality on the lane, so the ``state, lane, run_at`` index
    serves it), so live work due now always comes before bulk work that has waited longer.
    Leasing uses up no attempt: a run counts when it finishes (``claim_for_run``, ``record_failure``),
    so a worker killed mid-run costs the job no retry. Taking over an expired lease is counted in
    ``expired_leases`` instead; the worker dead-letters a job that keeps killing its workers.
    """
    now = utcnow()
    leased: list[LeasedJob] = []
    for lane in sorted(set(lanes), key=lambda each: each.rank):
        room = limit - len(leased)
        if room <= 0:
            break
        if lane is JobLane.BULK:
            # Bulk jobs take minutes: a batch runs one, last, so none waits behind another while its
            # lease runs out and each stays free for any other worker that serves the bulk lane.
            room = 1
        leased += _lease_lane(
            session, lane, worker_id=worker_id, limit=room, lease_seconds=lease_seconds, now=now
        )
    return leased


def _lease_lane(
    session: Session, lane: JobLane, *, worker_id: str, limit: int, lease_seconds: float, now: datetime
) -> list[LeasedJob]:
    due = (
        select(Job.id)
        .where(
            Job.lane == lane,
            or_(
                and_(Job.state == JobState.QUEUED, Job.run_at <= now),
                and_(Job.state == JobState.RUNNING, Job.leased_until < now),
            ),
        )
        .order_by(Job.run_at)
        .limit(limit)
        # PostgreSQL: concurrent workers skip each other's rows instead of queueing on them.
        # SQLite ignores this; its single writer lock (BEGIN IMMEDIATE) serialises leasing.
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(
            state=JobState.RUNNING,
            leased_by=worker_id,
            leased_until=now + timedelta(seconds=lease_seconds),
            # SET sees the row as it was: still RUNNING means its previous holder's lease ran out.
            expired_leases=Job.expired_leases + case((Job.state == JobState.RUNNING, 1), else_=0),
        )
        .returning(Job.id, Job.name, Job.args, Job.attempts, Job.max_attempts, Job.expired_leases)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(
        (
            LeasedJob(r.id, r.name, r.args or {}, r.attempts, r.max_attempts, r.expired_leases, lane)
            for r in rows
        ),
        key=lambda j: j.id,
    )


def claim_for_run(session: Session, job: LeasedJob, worker_id: str) -> bool:
    """Mark the job done inside the handler's transaction, if this worker still holds its lease.

    The handler's effects and the completion commit together, so a crash before commit leaves the
    job to be retried and a crash after leaves it done: exactly once in effect. On PostgreSQL the
    row stays locked until commit, so another worker's lease query skips it even past leased_until.
    """
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.leased_by == worker_id, Job.state == JobState.RUNNING)
        .values(state=JobState.DONE, finished_at=utcnow(), last_error=None, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def extend_lease(session: Session, job: LeasedJob, worker_id: str, seconds: float) -> bool:
    """Hold the job for ``seconds`` more (a long job, before it starts), if this worker still holds it."""
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.leased_by == worker_id, Job.state == JobState.RUNNING)
        .values(leased_until=utcnow() + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def backoff_delay(attempts: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter, so a failing provider is not hammered in lockstep."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * (0.5 + random.random() / 2))


def record_failure(
    session: Session,
    job: LeasedJob,
    worker_id: str,
    error: str,
    *,
    max_attempts: int,
    base: float,
    cap: float,
    give_up: bool = False,
) -> JobState | None:
    """Send a failed job back to the queue with backoff, or to the dead-letter state when out of tries
    (``max_attempts``, the job's resolved limit) or when the worker gives up on it (``give_up``).

    Returns None when this worker no longer holds the lease: the failure is not its to record.
    """
    failed_runs = job.attempts + 1
    dead = give_up or failed_runs >= max_attempts
    values: dict[str, Any] = {
        "last_error": error[-8000:],
        "leased_by": None,
        "leased_until": None,
        "attempts": Job.attempts + 1,
    }
    if dead:
        values.update(state=JobState.DEAD, finished_at=utcnow())
    else:
        values.update(
            state=JobState.QUEUED,
            run_at=utcnow() + timedelta(seconds=backoff_delay(failed_runs, base=base, cap=cap)),
        )
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.leased_by == worker_id, Job.state == JobState.RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return JobState.DEAD if dead else JobState.QUEUED


def purge_finished(session: Session, *, older_than: timedelta) -> int:
    """Delete finished jobs past their retention; dead jobs are kept until someone looks at them."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(Job)
        .where(Job.state == JobState.DONE, Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
