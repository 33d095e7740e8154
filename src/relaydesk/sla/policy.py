"""SLA's policy kinds: ``business_hours`` (calendars) and ``sla`` (targets per match, first match wins).

Durations are business time written as ``"30m"``, ``"4h"`` or ``"1h30m"``: counted only while the
calendar the matching entry names is open. See ``policies/sla.yaml`` and ``policies/business_hours.yaml``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from relaydesk.customers.enums import CustomerTier
from relaydesk.policies import (
    PolicyError,
    get_policy,
    policy_cross_check,
    policy_kind,
    policy_renderer,
    policy_version,
)
from relaydesk.sla.calendar import BusinessCalendar, OpenInterval
from relaydesk.sla.enums import SlaTarget
from relaydesk.tickets.enums import Channel, EscalationLevel, Priority

__all__ = [
    "BusinessHoursPolicy",
    "CalendarSpec",
    "SlaEntry",
    "SlaMatch",
    "SlaPolicy",
    "TicketFacts",
    "business_calendar",
    "business_hours_policy",
    "parse_duration",
    "sla_policy",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_duration(value: object) -> timedelta:
    """``"1h30m"`` → 90 minutes; a plain integer is minutes."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
        if minutes <= 0:
            raise ValueError("a target is a positive duration")
        return timedelta(minutes=minutes)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; write it like '30m', '4h' or '1h30m'")
    duration = timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    if duration <= timedelta(0):
        raise ValueError("a target is a positive duration")
    return duration


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _interval(text: str) -> OpenInterval:
    match = _HOURS.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an opening interval; write it like '09:00-17:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{text!r}: hours run from 00:00 to 24:00")
    opens, closes = time(h1, m1), (None if h2 == 24 else time(h2, m2))
    if closes is not None and closes <= opens:
        raise ValueError(f"{text!r}: closes before it opens (split a night shift over two days)")
    return opens, closes


class CalendarSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: str
    # Weekday (mon..sun) → opening intervals in local time ("09:00-17:30"); a day not listed is closed.
    hours: dict[str, list[str]]
    # Public holidays of a country (ISO code, e.g. GB) and optionally a subdivision (ENG), closed all day.
    holidays: str | None = None
    subdivision: str | None = None
    # The team's own closed dates.
    closed: list[date] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/London'") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}; use {', '.join(WEEKDAYS)}")
        for day, intervals in value.items():
            parsed = sorted((_interval(text) for text in intervals), key=lambda iv: iv[0])
            for (_, closes), (opens, _) in itertools.pairwise(parsed):
                if closes is None or closes > opens:
                    raise ValueError(f"{day}: opening intervals overlap")
        if not any(value.values()):
            raise ValueError("a calendar needs at least one opening interval")
        return value

    @model_validator(mode="after")
    def _country(self) -> CalendarSpec:
        if self.holidays is not None:
            supported = holidays.list_supported_countries()
            if self.holidays not in supported:
                raise ValueError(f"holidays: unknown country code {self.holidays!r} (ISO 3166, e.g. 'GB')")
            if self.subdivision is not None and self.subdivision not in supported[self.holidays]:
                raise ValueError(
                    f"subdivision: {self.subdivision!r} is not one of {', '.join(supported[self.holidays])}"
                )
        elif self.subdivision is not None:
            raise ValueError("subdivision needs holidays (the country)")
        return self

    def build(self, name: str) -> BusinessCalendar:
        return BusinessCalendar(
            name=name,
            zone=ZoneInfo(self.time_zone),
            hours={
                WEEKDAYS.index(day): tuple(sorted((_interval(t) for t in intervals), key=lambda iv: iv[0]))
                for day, intervals in self.hours.items()
            },
            country=self.holidays,
            subdivision=self.subdivision,
            closed_dates=frozenset(self.closed),
        )


@policy_kind("business_hours")
class BusinessHoursPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calendars: dict[str, CalendarSpec] = Field(min_length=1)


class SlaMatch(BaseModel):
    """Every listed condition must hold (a list: any of its values); an empty match matches all."""

    model_config = ConfigDict(extra="forbid")

    priority: list[Priority] | None = None
    channel: list[Channel] | None = None
    tier: list[CustomerTier] | None = None
    # Team names, as in `relaydesk team list`.
    team: list[str] | None = None
    category: list[str] | None = None
    escalation_level: list[EscalationLevel] | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())

    def matches(self, facts: TicketFacts) -> bool:
        return (
            _holds(self.priority, facts.priority)  # type: ignore[arg-type]
            and _holds(self.channel, facts.channel)  # type: ignore[arg-type]
            and _holds(self.tier, facts.tier)  # type: ignore[arg-type]
            and _holds(self.team, facts.team)  # type: ignore[arg-type]
            and _holds(self.category, facts.category)  # type: ignore[arg-type]
            and _holds(self.escalation_level, facts.escalation_level)  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class TicketFacts:
    """What an SLA match reads of a ticket."""

    priority: Priority
    channel: Channel
    tier: CustomerTier
    team: str | None
    category: str | None
    escalation_level: EscalationLevel


def _holds(allowed: list[object] | None, value: object) -> bool:
    return allowed is None or value in allowed


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response: Duration | None = None
    # From each customer message after an agent's reply to the next agent reply.
    next_response: Duration | None = None
    # The customer hears from us at least this often while the ticket is open.
    periodic_update: Duration | None = None
    resolution: Duration | None = None
    # Internal: the level a ticket was escalated to must acknowledge it within this.
    acknowledgement: Duration | None = None

    def of(self, target: SlaTarget) -> timedelta | None:
        value: timedelta | None = getattr(self, target.value)
        return value


class SlaEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_]+$")
    match: SlaMatch = Field(default_factory=SlaMatch)
    # A calendar of the business_hours policy.
    calendar: str
    targets: Targets
    # Share of a target elapsed at which its clock is at risk (overrides the policy's).
    at_risk_share: float | None = Field(default=None, gt=0, lt=1)


@policy_kind("sla")
class SlaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_risk_share: float = Field(default=0.75, gt=0, lt=1)
    # First match wins; the last entry is the default and matches everything.
    policies: list[SlaEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_last(self) -> SlaPolicy:
        names = [entry.name for entry in self.policies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"policy names must be unique: {duplicates}")
        if not self.policies[-1].match.is_empty:
            raise ValueError(f"the last policy ({self.policies[-1].name!r}) is the default: give it no match")
        for entry in self.policies[:-1]:
            if entry.match.is_empty:
                raise ValueError(f"policy {entry.name!r} matches everything; only the last one may")
        return self

    def entry_for(self, facts: TicketFacts) -> SlaEntry:
        """The first entry whose match holds (the last one matches everything)."""
        return next(entry for entry in self.policies if entry.match.matches(facts))

    def share_of(self, entry: SlaEntry) -> float:
        return entry.at_risk_share if entry.at_risk_share is not None else self.at_risk_share


@policy_cross_check
def _calendars_exist(policies: dict[str, BaseModel]) -> list[str]:
    sla, hours = policies.get("sla"), policies.get("business_hours")
    if not isinstance(sla, SlaPolicy):
        return []
    known = hours.calendars if isinstance(hours, BusinessHoursPolicy) else {}
    return [
        f"sla: spec.policies.{index}.calendar: {entry.calendar!r} is not a calendar of business_hours"
        f" (known: {', '.join(sorted(known)) or 'none'})"
        for index, entry in enumerate(sla.policies)
        if entry.calendar not in known
    ]


def sla_policy() -> SlaPolicy | None:
    return get_policy("sla", SlaPolicy)


def business_hours_policy() -> BusinessHoursPolicy | None:
    return get_policy("business_hours", BusinessHoursPolicy)


def business_calendar(name: str) -> BusinessCalendar:
    """The named calendar of the current business_hours policy (rebuilt when the file changes)."""
    policy = business_hours_policy()
    spec = policy.calendars.get(name) if policy is not None else None
    if spec is None:
        known = ", ".join(sorted(policy.calendars)) if policy is not None else "none: no business_hours file"
        raise PolicyError(
            f"sla.yaml names calendar {name!r}, which business_hours.yaml lacks (known: {known})."
        )
    return _built(name, spec.model_dump_json(), policy_version("business_hours") or "")


@lru_cache(maxsize=32)
def _built(name: str, spec_json: str, version: str) -> BusinessCalendar:
    # Keyed by the spec itself, so an edited file builds a new calendar (and its holiday table) once.
    return CalendarSpec.model_validate_json(spec_json).build(name)


# --- documentation (relaydesk policy docs) -------------------------------------------------------------


def _duration_text(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def _match_text(match: SlaMatch) -> str:
    if match.is_empty:
        return "*everything else (default)*"
    conditions = []
    for name, values in match.model_dump(exclude_none=True).items():
        shown = ", ".join(str(getattr(v, "value", v)) for v in values)
        conditions.append(f"{name.replace('_', ' ')}: {shown}")
    return "; ".join(conditions)


@policy_renderer("sla")
def _render_sla(policy: SlaPolicy) -> str:
    targets = [t for t in SlaTarget]
    header = ["#", "policy", "match", "calendar", *(t.value.replace("_", " ") for t in targets), "at risk at"]
    lines = [
        "First match wins, top to bottom; durations are business time of the entry's calendar.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for number, entry in enumerate(policy.policies, 1):
        cells = [
            str(number),
            f"`{entry.name}`",
            _match_text(entry.match),
            f"`{entry.calendar}`",
            *(_duration_text(entry.targets.of(t)) for t in targets),
            f"{policy.share_of(entry):.0%}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@policy_renderer("business_hours")
def _render_calendars(policy: BusinessHoursPolicy) -> str:
    lines = ["| calendar | time zone | " + " | ".join(WEEKDAYS) + " | closed |", "|" + "---|" * 10]
    for name, spec in sorted(policy.calendars.items()):
        days = [", ".join(spec.hours.get(day, [])) or "closed" for day in WEEKDAYS]
        closed = []
        if spec.holidays:
            closed.append(
                f"public holidays of {spec.holidays}" + (f"-{spec.subdivision}" if spec.subdivision else "")
            )
        closed += [d.isoformat() for d in sorted(spec.closed)]
        lines.append(
            f"| `{name}` | {spec.time_zone} | " + " | ".join(days) + f" | {'; '.join(closed) or '—'} |"
        )
    return "\n".join(lines)
