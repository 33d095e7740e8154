"""Timezone-aware UTC time through one injectable clock; Relaydesk never handles naive datetimes.

Every service, job and model default reads the time through :func:`utcnow`, so a test, a scenario or
a simulation can run the whole system on controlled time::

    with use_clock(ManualClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))) as clock:
        ...                                  # everything sees 09:00
        clock.advance(timedelta(minutes=5))  # and now 09:05

The clock is process-wide (API threads and in-process workers see the same time). Durations that
only measure elapsed wall time inside one call (rate limits, timeouts) keep ``time.monotonic()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

__all__ = ["Clock", "ManualClock", "SystemClock", "as_utc", "get_clock", "set_clock", "use_clock", "utcnow"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Time that moves only when told to: ``set`` it, ``advance`` it. Safe to share between threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = as_utc(start) if start is not None else datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = as_utc(moment)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by keyword parts (``advance(minutes=5)``); return the new time."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now


_clock: Clock = SystemClock()
C = TypeVar("C", bound=Clock)


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` for the whole process; return the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextmanager
def use_clock(clock: C) -> Iterator[C]:
    """Run a block on ``clock``, then put the previous clock back."""
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def utcnow() -> datetime:
    return _clock.now()


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive value read back from SQLite, or convert an aware one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
