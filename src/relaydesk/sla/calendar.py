"""Business time: when a support team works, and how much of its time lies between two moments.

A calendar is a time zone, opening hours per weekday (local wall-clock times) and closed dates
(public holidays of a country from the ``holidays`` package, plus the team's own dates). Each open
interval is converted to UTC bound by bound, so a day on which the clocks change is 23 or 25 hours
long in UTC and a 24-hour calendar counts exactly the hours that really passed.

``add(start, duration)`` is the moment ``duration`` of business time after ``start``;
``elapsed(start, end)`` the business time between them. ``elapsed(start, add(start, d)) == d``
(hypothesis checks it in ``tests/sla/test_calendar.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

__all__ = ["BusinessCalendar", "OpenInterval"]

# Past this many days without an open hour a calendar is taken to be always closed (a policy error,
# refused when the policy loads; this guard keeps a bad calendar from looping forever).
_MAX_DAYS = 3 * 366

OpenInterval = tuple[time, time | None]  # None: until midnight (24:00)


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    zone: ZoneInfo
    # Monday = 0; the intervals of one day are sorted and do not overlap.
    hours: dict[int, tuple[OpenInterval, ...]]
    country: str | None = None
    subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()

    @cached_property
    def _country_holidays(self) -> holidays.HolidayBase | None:
        if self.country is None:
            return None
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_closed_on(self, day: date) -> bool:
        if day in self.closed_dates:
            return True
        public = self._country_holidays
        return public is not None and day in public

    def _day_intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_closed_on(day):
            return
        for opens, closes in self.hours.get(day.weekday(), ()):
            start = datetime.combine(day, opens, self.zone).astimezone(UTC)
            end_local = (
                datetime.combine(day + timedelta(days=1), time(0), self.zone)
                if closes is None
                else datetime.combine(day, closes, self.zone)
            )
            end = end_local.astimezone(UTC)
            # A bound inside a spring-forward gap can land after the other; such an interval is empty.
            if end > start:
                yield start, end

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, in order, from the local day of ``start`` on (the first may end early)."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        empty_days = 0
        while empty_days < _MAX_DAYS:
            found = False
            for interval in self._day_intervals(day):
                found = True
                yield interval
            empty_days = 0 if found else empty_days + 1
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no open hour in {_MAX_DAYS} days")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment at which ``duration`` of business time has passed since ``start``."""
        if duration < timedelta(0):
            raise ValueError("a business duration is not negative")
        remaining = duration
        if not remaining:
            return start
        for opens, closes in self.open_intervals(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: open_intervals never ends")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self.open_intervals(start):
            if opens >= end:
                break
            if closes <= start:
                continue
            total += min(closes, end) - max(opens, start)
        return total

    def is_open(self, moment: datetime) -> bool:
        for opens, closes in self.open_intervals(moment):
            if opens > moment:
                return False
            if opens <= moment < closes:
                return True
        return False  # pragma: no cover
