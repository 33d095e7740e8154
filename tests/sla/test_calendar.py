"""Business-time arithmetic: properties across time zones, daylight-saving changes and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.sla.calendar import BusinessCalendar
from relaydesk.sla.policy import CalendarSpec

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Santiago", "UTC"]
COUNTRIES = {"Europe/London": "GB", "America/New_York": "US", "Australia/Sydney": "AU", "Asia/Kolkata": "IN"}
# Hours that straddle the changes (01:00-03:00 local is where clocks jump) and plain office hours.
DAY_SHAPES = [
    ["00:00-24:00"],
    ["09:00-17:30"],
    ["00:30-03:30", "08:00-12:00", "13:00-18:00"],
    ["01:00-02:30", "22:00-24:00"],
    [],
]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    days = {
        day: draw(st.sampled_from(DAY_SHAPES)) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    if not any(days.values()):
        days["mon"] = ["09:00-17:00"]
    country = COUNTRIES.get(zone) if draw(st.booleans()) else None
    closed = draw(st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=5))
    return CalendarSpec(time_zone=zone, hours=days, holidays=country, closed=closed).build(zone)


# Around every change of 2026 in the zones above (March/April and September/October/November).
moments = st.datetimes(
    min_value=datetime(2026, 3, 1),  # noqa: DTZ001 (hypothesis wants naive bounds with timezones=)
    max_value=datetime(2026, 11, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=120)).map(
    lambda d: timedelta(seconds=int(d.total_seconds()))
)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, durations)
def test_adding_then_measuring_returns_the_same_duration(calendar, start, duration):
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.elapsed(start, due) == duration


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, durations, durations, durations)
def test_pause_and_resume_keep_elapsed_time(calendar, start, before_pause, paused_for, target):
    """A clock paused after some business time and resumed later needs only the rest of its target."""
    paused_at = calendar.add(start, before_pause)
    resumed_at = paused_at + paused_for  # wall time: nothing counts while paused
    kept = calendar.elapsed(start, paused_at)
    assert kept == before_pause
    rest = max(target - kept, timedelta(0))
    due = calendar.add(resumed_at, rest)
    assert kept + calendar.elapsed(resumed_at, due) == max(target, kept)


@settings(max_examples=100, deadline=None)
@given(calendars(), moments, durations, durations)
def test_elapsed_splits_at_any_moment_between(calendar, start, first, second):
    middle = start + first
    end = middle + second
    assert calendar.elapsed(start, end) == calendar.elapsed(start, middle) + calendar.elapsed(middle, end)


def _always(zone: str) -> BusinessCalendar:
    hours = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return CalendarSpec(time_zone=zone, hours=hours).build("always")


def test_a_day_of_a_24_hour_calendar_is_23_or_25_hours_when_the_clocks_change():
    london = _always("Europe/London")
    zone = ZoneInfo("Europe/London")
    spring = datetime.combine(date(2026, 3, 29), time(0), zone)
    autumn = datetime.combine(date(2026, 10, 25), time(0), zone)
    assert london.elapsed(spring, spring + timedelta(days=1)) == timedelta(hours=23)
    assert london.elapsed(autumn, autumn + timedelta(days=1)) == timedelta(hours=25)
    # The due time of 24 business hours from local midnight is the next local midnight.
    assert london.add(spring, timedelta(hours=23)).astimezone(zone) == datetime.combine(
        date(2026, 3, 30), time(0), zone
    )


def test_office_hours_keep_their_local_time_across_the_change():
    spec = CalendarSpec(time_zone="America/New_York", hours={"fri": ["09:00-17:00"], "mon": ["09:00-17:00"]})
    calendar = spec.build("ny")
    friday_noon = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # 12:00 EST
    due = calendar.add(friday_noon, timedelta(hours=6))
    # 5 hours on Friday; clocks spring forward on Sunday; 1 hour on Monday: 10:00 EDT = 14:00 UTC.
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_public_holidays_and_custom_dates_are_closed():
    spec = CalendarSpec(
        time_zone="Europe/London",
        hours={d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays="GB",
        subdivision="ENG",
        closed=[date(2026, 12, 24)],
    )
    calendar = spec.build("office")
    start = datetime(2026, 12, 23, 15, 0, tzinfo=UTC)
    # 2h on the 23rd; 24th closed (custom), 25th Christmas, 26th-27th weekend, 28th Boxing Day (observed).
    assert calendar.add(start, timedelta(hours=3)) == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)
    assert calendar.is_closed_on(date(2026, 12, 25)) and not calendar.is_open(
        datetime(2026, 12, 28, 12, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus", "unknown time zone"),
        ("hours", {"mon": ["17:00-09:00"]}, "closes before it opens"),
        ("hours", {"funday": ["09:00-17:00"]}, "unknown weekday"),
        ("hours", {"mon": ["09:00-13:00", "12:00-17:00"]}, "overlap"),
        ("holidays", "XX", "unknown country code"),
    ],
)
def test_bad_calendars_are_refused_with_what_to_fix(field, value, message):
    data = {"time_zone": "UTC", "hours": {"mon": ["09:00-17:00"]}, field: value}
    with pytest.raises(ValueError, match=message):
        CalendarSpec.model_validate(data)
