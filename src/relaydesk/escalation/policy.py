"""The ``escalation_paths`` policy kind: per team, the ordered levels a ticket climbs, who serves each
level and how soon it must be picked up, and the reasons an escalation may give
(``policies/escalation_paths.yaml``; see this package's README)."""

from __future__ import annotations

import hashlib
import json
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.auth.roles import Role
from relaydesk.policies import get_policy, policy_kind, policy_renderer
from relaydesk.policies import policy_version as loaded_version
from relaydesk.tickets.enums import EscalationLevel

__all__ = [
    "EscalationPathsPolicy",
    "LevelRule",
    "PathRule",
    "ReasonRule",
    "escalation_paths",
    "policy_version",
]

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")


class ReasonRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80)
    label: str = Field(min_length=1, max_length=200)

    @field_validator("code")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("a reason code is lower-case letters, digits and '_' (e.g. needs_expertise)")
        return value


class LevelRule(BaseModel):
    """One rung of a path and who serves it: a team, a minimum tier and optionally a minimum role."""

    model_config = ConfigDict(extra="forbid")

    level: EscalationLevel
    # The team that owns the ticket at this level (by name); omitted: the ticket stays in its team.
    team: str | None = Field(default=None, min_length=1, max_length=120)
    # The least ``Agent.tier_level`` that may take it; omitted: the level's rank + 1 (frontline = 1).
    tier: int | None = Field(default=None, ge=1, le=10)
    # The least role that may take it (team_lead: ``lead``, manager: ``manager``); omitted: any.
    role: Role | None = None
    # Pickup target: the receiver acknowledges within this many minutes, or the escalation escalates.
    pickup_minutes: int = Field(ge=1, le=7 * 24 * 60)

    @property
    def min_tier(self) -> int:
        return self.tier if self.tier is not None else self.level.rank + 1


class PathRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    # The teams whose tickets climb this path (by name); ``default`` takes every other ticket.
    teams: list[str] = Field(default_factory=list, max_length=100)
    default: bool = False
    levels: list[LevelRule] = Field(min_length=1, max_length=len(EscalationLevel))

    @model_validator(mode="after")
    def _ordered(self) -> PathRule:
        ranks = [rule.level.rank for rule in self.levels]
        if ranks != sorted(set(ranks)):
            raise ValueError(
                "levels go up the ladder once each, in order: frontline, tier2, team_lead, expert, "
                "manager, legal (a level may be left out)"
            )
        for rule in self.levels:
            if rule.level is EscalationLevel.LEGAL and rule.team is None:
                raise ValueError("the legal level must name its (restricted) team")
        return self

    def rule(self, level: EscalationLevel) -> LevelRule | None:
        return next((r for r in self.levels if r.level is level), None)

    def above(self, level: EscalationLevel) -> LevelRule | None:
        """The next level up from ``level`` (which need not be on the path)."""
        return next((r for r in self.levels if r.level.rank > level.rank), None)

    def below(self, level: EscalationLevel) -> LevelRule | None:
        """The next level down from ``level``."""
        return next((r for r in reversed(self.levels) if r.level.rank < level.rank), None)


@policy_kind("escalation_paths")
class EscalationPathsPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[ReasonRule] = Field(min_length=1, max_length=100)
    # The reason recorded when an escalation nobody picked up in time escalates further (one of reasons).
    pickup_overdue_reason: str = Field(min_length=1, max_length=80)
    paths: list[PathRule] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> EscalationPathsPolicy:
        codes = [r.code for r in self.reasons]
        if len(codes) != len(set(codes)):
            raise ValueError("reason codes must be unique")
        if self.pickup_overdue_reason not in codes:
            raise ValueError(
                f"pickup_overdue_reason {self.pickup_overdue_reason!r} is not one of the reasons"
            )
        names = [p.name for p in self.paths]
        if len(names) != len(set(names)):
            raise ValueError("path names must be unique")
        teams = [t.lower() for p in self.paths for t in p.teams]
        if len(teams) != len(set(teams)):
            raise ValueError("a team climbs one path: it is named in two")
        if sum(p.default for p in self.paths) > 1:
            raise ValueError("at most one path is the default")
        return self

    def reason(self, code: str) -> ReasonRule | None:
        return next((r for r in self.reasons if r.code == code), None)

    def path_named(self, name: str) -> PathRule | None:
        return next((p for p in self.paths if p.name == name), None)

    def path_for_team(self, team_name: str | None) -> PathRule | None:
        """The path of a team's tickets: the one naming the team, else the default (None: no path)."""
        if team_name is not None:
            for path in self.paths:
                if team_name.lower() in (t.lower() for t in path.teams):
                    return path
        return next((p for p in self.paths if p.default), None)


def escalation_paths() -> EscalationPathsPolicy | None:
    """The configured paths; None when the policy folder has none (escalation is then refused)."""
    return get_policy("escalation_paths", EscalationPathsPolicy)


def policy_version(policy: EscalationPathsPolicy) -> str:
    """The version recorded on every move the policy decided: the loader's hash of the file's text (one
    notion of version for every policy kind, ``policies.policy_version``), so a decision can be traced
    to the text that made it. A policy not read from the policy folder (built in code) falls back to a
    hash of its validated content."""
    from_file = loaded_version("escalation_paths")
    if from_file is not None and get_policy("escalation_paths", EscalationPathsPolicy) == policy:
        return from_file
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@policy_renderer("escalation_paths")
def _render_paths(policy: EscalationPathsPolicy) -> str:
    """Each path as a Mermaid diagram (who serves each level, its pickup target), then the reasons."""
    lines: list[str] = []
    for path in policy.paths:
        climbers = ", ".join(path.teams) or "—"
        lines += [f"**Path `{path.name}`**{' (default)' if path.default else ''}: teams {climbers}", ""]
        lines += ["```mermaid", "flowchart LR"]
        node = re.sub(r"\W", "_", path.name)
        for rule in path.levels:
            who = [rule.team or "the ticket's team", f"tier ≥ {rule.tier or rule.level.rank + 1}"]
            if rule.role is not None:
                who.append(f"role ≥ {rule.role.value}")
            label = f"{rule.level.value}<br/>{' · '.join(who)}<br/>pickup {rule.pickup_minutes} min"
            lines.append(f'    {node}_{rule.level.value}["{_mermaid_text(label)}"]')
        for lower, upper in zip(path.levels, path.levels[1:], strict=False):
            lines.append(f"    {node}_{lower.level.value} -->|escalate| {node}_{upper.level.value}")
        lines += ["```", ""]
    lines += [
        "Reasons an escalation may give (`code`: label); a pickup not made in time escalates with "
        f"`{policy.pickup_overdue_reason}`:",
        "",
    ]
    lines += [f"- `{r.code}`: {r.label}" for r in policy.reasons]
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")
