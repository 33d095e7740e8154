"""Workers lease due jobs, run each in its own transaction, retry with backoff, dead-letter at the end."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from relaydesk.db import Database
from relaydesk.jobs.models import Job, JobLane, JobState
from relaydesk.jobs.queue import (
    LeasedJob,
    claim_for_run,
    enqueue,
    extend_lease,
    lease_due_jobs,
    purge_finished,
    record_failure,
    wakeup,
)
from relaydesk.jobs.registry import TaskSpec, get_task, periodic, registered_tasks
from relaydesk.kit.time import utcnow
from relaydesk.settings import Settings, get_settings

__all__ = ["LANE_THREADS", "InProcessWorkers", "Worker", "parse_lanes", "schedule_periodic_jobs"]

log = logging.getLogger("relaydesk.jobs")


class _LostLeaseError(Exception):
    """Another worker took over this job after our lease expired; our work must roll back."""


def schedule_periodic_jobs(database: Database) -> int:
    """Make sure the current slot of every periodic job exists; safe from any number of workers."""
    now = utcnow()
    created = 0
    with database.transaction() as session:
        for spec in registered_tasks().values():
            if spec.every is None:
                continue
            seconds = spec.every.total_seconds()
            slot = int(now.timestamp() // seconds)
            job_id = enqueue(
                session,
                spec.name,
                dedupe_key=f"periodic:{spec.name}:{slot}",
                max_attempts=spec.max_attempts or 1,
                lane=spec.lane,
            )
            created += job_id is not None
    return created


class Worker:
    """One job loop. ``relaydesk serve`` runs one in a thread; ``relaydesk worker`` runs N processes."""

    def __init__(
        self,
        database: Database,
        *,
        settings: Settings | None = None,
        name: str | None = None,
        schedule_periodic: bool = True,
        lanes: Iterable[JobLane] = tuple(JobLane),
    ):
        """``lanes``: the lanes this worker leases from, most urgent first whatever the order given."""
        self.lanes = tuple(sorted(set(lanes), key=lambda lane: lane.rank))
        if not self.lanes:
            raise ValueError("a worker serves at least one lane")
        self.database = database
        self.settings = settings or get_settings()
        # Unique per worker (several run in one process: serve's thread, tests), so the lease-holder
        # checks in claim_for_run, extend_lease and record_failure tell workers apart.
        self.worker_id = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.stop_event = threading.Event()
        self.processed = 0
        self._last_schedule = 0.0
        self.schedule_periodic = schedule_periodic

    def stop(self) -> None:
        self.stop_event.set()
        wakeup.set()

    def run_forever(self) -> None:
        log.info("worker %s started", self.worker_id)
        while not self.stop_event.is_set():
            try:
                ran = self.run_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("worker %s: loop error; retrying", self.worker_id)
                ran = 0
                self.stop_event.wait(self.settings.job_poll_seconds)
            if ran == 0:
                wakeup.wait(self.settings.job_poll_seconds)
                wakeup.clear()
        log.info("worker %s stopped after %d jobs", self.worker_id, self.processed)

    def run_once(self) -> int:
        """Schedule periodic slots (at most once a second), lease a batch, run it; returns jobs run."""
        if self.schedule_periodic and time.monotonic() - self._last_schedule >= 1.0:
            schedule_periodic_jobs(self.database)
            self._last_schedule = time.monotonic()
        with self.database.transaction() as session:
            batch = lease_due_jobs(
                session,
                worker_id=self.worker_id,
                limit=self.settings.job_batch_size,
                lease_seconds=self.settings.job_lease_seconds,
                lanes=self.lanes,
            )
        if not batch:
            return 0
        # One connection for the whole batch: each job still commits on its own, but without a
        # pool checkout (and its liveness ping) per job.
        with self.database.engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                # Safe to skip the WAL flush wait here: a job's effects and its "done" mark commit
                # together, so a server crash can only lose both, and the job then runs again after
                # its lease expires (at-least-once, as always). Requests keep synchronous commits.
                connection.exec_driver_sql("SET synchronous_commit = off")
                connection.commit()
            try:
                for job in batch:
                    if self.stop_event.is_set():
                        break  # unstarted jobs come back when their lease expires
                    self.run_job(job, connection)
            finally:
                if postgres:
                    if connection.in_transaction():
                        connection.rollback()
                    connection.exec_driver_sql("RESET synchronous_commit")
                    connection.commit()
        return len(batch)

    @contextmanager
    def _transaction(self, connection: Connection | None) -> Iterator[Session]:
        if connection is None:
            with self.database.transaction() as session:
                yield session
            return
        with Session(bind=connection, expire_on_commit=False) as session, session.begin():
            yield session

    def run_job(self, job: LeasedJob, connection: Connection | None = None) -> None:
        spec = get_task(job.name)
        long_lease = spec.lease_seconds if spec is not None else None
        long_job = long_lease is not None
        if job.expired_leases >= self.settings.job_max_attempts:
            # Every worker that took it died or hung before finishing: running it again would only
            # take down another one.
            reason = (
                f"gave up: the job's lease expired {job.expired_leases} times (a worker was killed or "
                "hung while running it each time)"
            )
            self._record_failure(job, spec, reason, connection, give_up=True)
            return
        try:
            if long_lease is not None:
                with self._transaction(connection) as session:
                    if not extend_lease(session, job, self.worker_id, long_lease):
                        raise _LostLeaseError
            with self._transaction(connection) as session:
                # A long job claims after its work, so the work holds no write lock (see TaskSpec).
                if not long_job and not claim_for_run(session, job, self.worker_id):
                    raise _LostLeaseError
                if spec is None:
                    raise LookupError(f"no handler registered for job {job.name!r}")
                spec.handler(session, **job.args)
                if long_job and not claim_for_run(session, job, self.worker_id):
                    raise _LostLeaseError
        except _LostLeaseError:
            log.warning("job %s (%s): lease lost to another worker; skipped", job.id, job.name)
            return
        except Exception:
            if connection is not None and connection.in_transaction():
                connection.rollback()
            self._record_failure(job, spec, traceback.format_exc(), connection)
            return
        self.processed += 1

    def _record_failure(
        self,
        job: LeasedJob,
        spec: TaskSpec | None,
        error: str,
        connection: Connection | None,
        *,
        give_up: bool = False,
    ) -> None:
        limit = job.attempt_limit(spec.max_attempts if spec else None, self.settings.job_max_attempts)
        with self._transaction(connection) as session:
            state = record_failure(
                session,
                job,
                self.worker_id,
                error,
                max_attempts=limit,
                base=self.settings.job_backoff_base_seconds,
                cap=self.settings.job_backoff_max_seconds,
                give_up=give_up,
            )
            if state is JobState.DEAD and spec is not None and spec.on_dead is not None:
                spec.on_dead(session, error=error, **job.args)
        log.warning(
            "job %s (%s) failed on attempt %d of %d -> %s", job.id, job.name, job.attempts + 1, limit, state
        )


# The in-process worker's threads and the lanes each serves. Every thread takes the most urgent work
# first; the first takes nothing else, so however long a retraining or a slow provider takes, a chat
# reply or a routing offer waits at most for the live jobs ahead of it. The last thread is the only one
# that runs bulk work, so bulk work never holds up default work either.
LANE_THREADS: tuple[tuple[JobLane, ...], ...] = (
    (JobLane.LIVE,),
    (JobLane.LIVE, JobLane.DEFAULT),
    (JobLane.LIVE, JobLane.DEFAULT, JobLane.BULK),
)


class InProcessWorkers:
    """The workers ``relaydesk serve`` runs in threads beside the web server, one per ``LANE_THREADS``."""

    def __init__(self, database: Database, *, settings: Settings | None = None):
        self.workers = [
            # One schedules the periodic slots; the dedupe key would make the others' tries no-ops.
            Worker(database, settings=settings, lanes=lanes, schedule_periodic=index == 0)
            for index, lanes in enumerate(LANE_THREADS)
        ]
        self._threads = [
            threading.Thread(
                target=worker.run_forever, name=f"relaydesk-worker-{worker.lanes[-1]}", daemon=True
            )
            for worker in self.workers
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))


def parse_lanes(text: str) -> tuple[JobLane, ...]:
    """``"live,default"`` as lanes; ValueError naming the lanes there are for anything else."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = ", ".join(lane.value for lane in JobLane)
    if not names:
        raise ValueError(f"name at least one lane ({known})")
    unknown = [name for name in names if name not in {lane.value for lane in JobLane}]
    if unknown:
        raise ValueError(f"unknown lane {unknown[0]!r}; the lanes are {known}")
    return tuple(JobLane(name) for name in names)


def job_counts(database: Database) -> dict[str, Any]:
    """Jobs per state, for /readyz and the admin view."""
    from sqlalchemy import func

    with database.transaction() as session:
        rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {str(state): count for state, count in rows}


@periodic("jobs.purge_finished", every=timedelta(hours=1))
def _purge_finished_jobs(session: Any) -> None:
    purge_finished(session, older_than=timedelta(days=7))
