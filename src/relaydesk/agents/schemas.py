"""API shapes of the agents domain."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from relaydesk.agents.enums import AgentStatus
from relaydesk.auth.passwords import password_problem
from relaydesk.auth.roles import Role
from relaydesk.kit.ids import RecordId

__all__ = [
    "AgentCreate",
    "AgentOut",
    "AgentUpdate",
    "SessionsRevokedOut",
    "SkillIn",
    "StatusUpdate",
    "TeamCreate",
    "TeamOut",
    "TeamUpdate",
    "UnlockOut",
    "working_hours_problem",
]

_LANG = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class SkillIn(BaseModel):
    # Also the read shape of AgentOut.skills, built from AgentSkill rows.
    model_config = ConfigDict(from_attributes=True)

    skill: str = Field(min_length=1, max_length=80)
    level: int = Field(default=1, ge=1, le=5)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def working_hours_problem(hours: dict[str, list[str]]) -> str | None:
    """Why a weekly schedule ``{"mon": ["09:00-17:00"], ...}`` is not valid, or None."""
    for day, spans in hours.items():
        if day not in _DAYS:
            return f"working_hours: {day!r} is not a day; use {', '.join(_DAYS)}"
        for span in spans:
            match = _SPAN.fullmatch(span)
            if match is None:
                return f"working_hours.{day}: {span!r} is not a span like '09:00-17:30'"
            start, end = span.split("-")
            if end <= start or end > "24:00":
                return f"working_hours.{day}: {span!r} ends before it starts"
    return None


class _AgentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as 'Europe/Berlin' or 'UTC'") from None
        return value

    @field_validator("working_hours", check_fields=False)
    @classmethod
    def _valid_schedule(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        problem = working_hours_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("languages", check_fields=False)
    @classmethod
    def _language_codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        codes: list[str] = []
        for raw in value:
            code = raw.strip().lower()
            if not re.fullmatch(_LANG, code):
                raise ValueError(f"{raw!r} is not a language code such as 'en' or 'pt-br'")
            if code not in codes:
                codes.append(code)
        return codes

    @field_validator("capacity", check_fields=False)
    @classmethod
    def _capacity_non_negative(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is not None and any(v < 0 for v in value.values()):
            raise ValueError("capacity per channel must be zero or more")
        return value


class AgentCreate(_AgentFields):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=200)
    role: Role = Role.AGENT
    tier_level: int = Field(default=1, ge=1, le=6)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    capacity: dict[str, int] = Field(default_factory=dict)
    timezone: str = Field(default="UTC", max_length=64)
    working_hours: dict[str, list[str]] = Field(default_factory=dict)
    team_ids: list[RecordId] = Field(default_factory=list)
    skills: list[SkillIn] = Field(default_factory=list)

    @field_validator("password")
    @classmethod
    def _password_is_not_guessable(cls, value: str | None) -> str | None:
        problem = password_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class AgentUpdate(_AgentFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    tier_level: int | None = Field(default=None, ge=1, le=6)
    languages: list[str] | None = None
    capacity: dict[str, int] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    working_hours: dict[str, list[str]] | None = None
    status: AgentStatus | None = None
    active: bool | None = None
    team_ids: list[RecordId] | None = None
    skills: list[SkillIn] | None = None


class StatusUpdate(BaseModel):
    """An agent's own presence change (``PATCH /api/v1/agents/me/status``)."""

    model_config = ConfigDict(extra="forbid")

    status: AgentStatus


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    tier_level: int
    languages: list[str]
    capacity: dict[str, int]
    status: AgentStatus
    status_changed_at: datetime | None
    last_active_at: datetime | None
    timezone: str
    working_hours: dict[str, list[str]]
    active: bool
    team_ids: list[int]
    skills: list[SkillIn]
    created_at: datetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    restricted: bool = False
    parent_id: RecordId | None = None


class TeamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    restricted: bool | None = None
    parent_id: RecordId | None = None


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    restricted: bool
    parent_id: int | None


class SessionsRevokedOut(BaseModel):
    revoked: int = Field(description="How many live sign-in sessions were ended.")


class UnlockOut(BaseModel):
    agent_id: int
    was_locked: bool
