"""Job handlers register by name next to their code; periodic jobs declare their interval there too."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from relaydesk.jobs.models import JobLane

__all__ = [
    "Handler",
    "TaskSpec",
    "discover_tasks",
    "get_task",
    "lane_of",
    "periodic",
    "registered_tasks",
    "task",
]

Handler = Callable[..., Any]
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    handler: Handler
    max_attempts: int | None
    every: timedelta | None
    # Called in the transaction that dead-letters the job, e.g. to mark a message "failed".
    on_dead: Handler | None = None
    # A long job (a model retraining): its lease is extended to this many seconds before it starts, and
    # it claims completion after its work instead of before, so the work itself holds no write lock
    # (on SQLite one writer blocks all others). Its handler must write only after the long part.
    lease_seconds: float | None = None
    # Where its jobs wait (see ``JobLane``); ``enqueue(lane=...)`` may choose another for one job.
    lane: JobLane = JobLane.DEFAULT


_tasks: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    max_attempts: int | None = None,
    on_dead: Handler | None = None,
    lease_seconds: float | None = None,
    lane: JobLane | str = JobLane.DEFAULT,
) -> Callable[[Handler], Handler]:
    """Register ``handler(session, **args)`` as the job ``name`` ("<domain>.<verb_phrase>").

    ``on_dead(session, error=..., **args)`` runs when the job runs out of attempts; ``lease_seconds``
    marks a long job (see ``TaskSpec``); ``lane`` says how urgent its work is (see ``JobLane``).
    """
    if lease_seconds is not None and lease_seconds < 1:
        raise ValueError("a long job's lease is at least a second")
    job_lane = JobLane(lane)

    def register(handler: Handler) -> Handler:
        _register(TaskSpec(name, handler, max_attempts, None, on_dead, lease_seconds, job_lane))
        return handler

    return register


def periodic(
    name: str,
    *,
    every: timedelta,
    max_attempts: int | None = 1,
    lease_seconds: float | None = None,
    lane: JobLane | str = JobLane.DEFAULT,
) -> Callable[[Handler], Handler]:
    """Register a handler that workers enqueue once per ``every`` slot, cluster-wide.

    ``lease_seconds`` makes it a long job (see ``TaskSpec``), e.g. a poll that calls a provider in
    ``committed_step`` units of work.
    """
    if every.total_seconds() < 1:
        raise ValueError("periodic jobs run at most once a second")
    if lease_seconds is not None and lease_seconds < 1:
        raise ValueError("a long job's lease is at least a second")
    job_lane = JobLane(lane)

    def register(handler: Handler) -> Handler:
        _register(TaskSpec(name, handler, max_attempts, every, lease_seconds=lease_seconds, lane=job_lane))
        return handler

    return register


def _register(spec: TaskSpec) -> None:
    if not _NAME.match(spec.name):
        raise ValueError(f"job name {spec.name!r} must look like '<domain>.<verb_phrase>'")
    existing = _tasks.get(spec.name)
    if existing is not None and existing.handler is not spec.handler:
        raise ValueError(f"job {spec.name!r} is registered twice")
    _tasks[spec.name] = spec


def get_task(name: str) -> TaskSpec | None:
    return _tasks.get(name)


def lane_of(name: str) -> JobLane:
    """The lane a task's jobs wait in; the default lane for a task this process has not imported."""
    spec = _tasks.get(name)
    return spec.lane if spec is not None else JobLane.DEFAULT


def registered_tasks() -> dict[str, TaskSpec]:
    return dict(_tasks)


def discover_tasks(package: str = "relaydesk", extra_modules: tuple[str, ...] = ()) -> None:
    """Import every ``<package>.<domain>.tasks`` module so its handlers register."""
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if info.name.endswith(".tasks"):
            importlib.import_module(info.name)
    for module in extra_modules:
        importlib.import_module(module)
