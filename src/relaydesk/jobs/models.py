"""The job table: durable work and timers, written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["Job", "JobState"]


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for run_at
    RUNNING = "running"  # leased by a worker until leased_until
    DONE = "done"
    DEAD = "dead"  # out of attempts; last_error says why


class Job(IdMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # Workers scan only due rows, so a tick costs what is due, not what is queued far ahead.
        Index("ix_jobs_state_run_at", "state", "run_at"),
        Index("ix_jobs_state_leased_until", "state", "leased_until"),
    )

    name: Mapped[str] = mapped_column(String(120), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
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
