"""The job table: durable work and timers, written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["Job", "JobLane", "JobState"]


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for run_at
    RUNNING = "running"  # leased by a worker until leased_until
    DONE = "done"
    DEAD = "dead"  # out of attempts; last_error says why


class JobLane(StrEnum):
    """How urgent a job's kind of work is; workers lease from the most urgent lane they serve first.

    A slow job only delays work in its own lane and the lanes below it: the in-process worker keeps a
    thread that takes live work only (``worker.LANE_THREADS``), so a retraining never holds up a chat
    reply or a routing offer.
    """

    LIVE = "live"  # someone is waiting on the other end now: chat/in-app delivery, routing, offers
    DEFAULT = "default"  # everything else that should happen within seconds: triage, email, housekeeping
    BULK = "bulk"  # minutes of work nobody waits on: retraining, reports, reindexing

    @property
    def rank(self) -> int:
        """0 for the most urgent lane."""
        return list(JobLane).index(self)


class Job(IdMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # Workers scan only due rows, so a tick costs what is due, not what is queued far ahead.
        Index("ix_jobs_state_run_at", "state", "run_at"),
        Index("ix_jobs_state_leased_until", "state", "leased_until"),
        # Each lane is leased on its own (most urgent first), by equality on the lane.
        Index("ix_jobs_state_lane_run_at", "state", "lane", "run_at"),
    )

    name: Mapped[str] = mapped_column(String(120), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lane: Mapped[JobLane] = mapped_column(
        enum_column(JobLane), default=JobLane.DEFAULT, server_default=JobLane.DEFAULT.value
    )
    # Runs that finished (done or failed). A run cut short by an expired lease (a killed worker) is
    # not one: it is counted in expired_leases, so recovering from a crash uses up no retry.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # None: the task's own ``@task(max_attempts=...)``, else the ``job_max_attempts`` setting, as
    # the worker sees them when the job fails (the enqueuing process may not have imported the task).
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    expired_leases: Mapped[int] = mapped_column(Integer, default=0)
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    # At most one live job per key: periodic slots and "only once" follow-ups use it.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
