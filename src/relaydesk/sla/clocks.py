"""The arithmetic of one clock: start, pause, resume, complete, re-target, all in business time.

A clock keeps the business seconds it counted before ``running_since`` in ``elapsed_seconds``; while
it runs, the calendar counts the rest. Every change folds the running segment into ``elapsed_seconds``
first, so pausing, resuming and re-matching never lose or double-count time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from relaydesk.kit.time import as_utc
from relaydesk.sla.calendar import BusinessCalendar
from relaydesk.sla.enums import ClockState
from relaydesk.sla.models import SlaClock

__all__ = ["OPEN_STATES", "complete", "elapsed", "fold", "pause", "restart", "resume", "retarget"]

# A clock that still counts towards (or past) its target.
OPEN_STATES = frozenset({ClockState.RUNNING, ClockState.PAUSED, ClockState.AT_RISK, ClockState.BREACHED})


def is_open(clock: SlaClock) -> bool:
    return clock.state in OPEN_STATES and clock.completed_at is None


def elapsed(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> timedelta:
    """Business time counted so far, the running segment included."""
    counted = timedelta(seconds=clock.elapsed_seconds)
    if clock.running_since is not None:
        counted += calendar.elapsed(as_utc(clock.running_since), now)
    return counted


def fold(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> None:
    """Move the running segment into ``elapsed_seconds`` and start a new segment at ``now``."""
    if clock.running_since is not None:
        clock.elapsed_seconds = elapsed(clock, calendar, now).total_seconds()
        clock.running_since = now


def schedule(clock: SlaClock, calendar: BusinessCalendar) -> None:
    """Set ``due_at`` and ``at_risk_at`` from what is left of the target (the clock must be running)."""
    assert clock.running_since is not None
    since = as_utc(clock.running_since)
    counted = timedelta(seconds=clock.elapsed_seconds)
    target = timedelta(seconds=clock.target_seconds)
    clock.due_at = (
        None if clock.breached_at is not None else calendar.add(since, max(target - counted, timedelta(0)))
    )
    risk = target * clock.at_risk_share
    clock.at_risk_at = (
        None
        if clock.at_risk_reached_at is not None or clock.breached_at is not None
        else calendar.add(since, max(risk - counted, timedelta(0)))
    )


def _running_state(clock: SlaClock) -> ClockState:
    if clock.breached_at is not None:
        return ClockState.BREACHED
    if clock.at_risk_reached_at is not None:
        return ClockState.AT_RISK
    return ClockState.RUNNING


def restart(clock: SlaClock, calendar: BusinessCalendar, now: datetime, *, paused: bool) -> None:
    """A new cycle from zero (a new next response, the next periodic update)."""
    clock.cycle = (clock.cycle or 0) + 1
    clock.started_at = now
    clock.elapsed_seconds = 0.0
    clock.at_risk_reached_at = clock.breached_at = clock.completed_at = None
    clock.running_since = None if paused else now
    if paused:
        clock.state, clock.due_at, clock.at_risk_at = ClockState.PAUSED, None, None
    else:
        clock.state = ClockState.RUNNING
        schedule(clock, calendar)


def pause(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> None:
    if not is_open(clock) or clock.running_since is None:
        return
    fold(clock, calendar, now)
    clock.running_since = None
    clock.due_at = clock.at_risk_at = None
    clock.state = ClockState.PAUSED


def resume(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> None:
    if not is_open(clock) or clock.running_since is not None:
        return
    clock.running_since = now
    clock.state = _running_state(clock)
    schedule(clock, calendar)


def complete(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> timedelta:
    """Fulfilled at ``now``: met when within the target, else it stays breached. Returns the elapsed time."""
    counted = elapsed(clock, calendar, now)
    clock.elapsed_seconds = counted.total_seconds()
    clock.running_since = clock.due_at = clock.at_risk_at = None
    clock.completed_at = now
    # Judged by the business time counted, not by whether the tick got there first: a reply processed
    # a moment after its due time but written before it is on time.
    if counted <= timedelta(seconds=clock.target_seconds):
        clock.state = ClockState.MET
        clock.breached_at = None
    else:
        clock.state = ClockState.BREACHED
        clock.breached_at = clock.breached_at or now
    return counted


def retarget(
    clock: SlaClock,
    old_calendar: BusinessCalendar,
    new_calendar: BusinessCalendar,
    now: datetime,
    *,
    target: timedelta,
    share: float,
) -> None:
    """A new target (priority, tier, team or level changed), keeping the business time already counted."""
    fold(clock, old_calendar, now)
    clock.target_seconds = int(target.total_seconds())
    clock.at_risk_share = share
    # At risk under the old target; under the new one it may not be yet.
    if (
        clock.breached_at is None
        and clock.at_risk_reached_at is not None
        and timedelta(seconds=clock.elapsed_seconds) < target * share
    ):
        clock.at_risk_reached_at = None
    if clock.running_since is not None:
        clock.state = _running_state(clock)
        schedule(clock, new_calendar)
