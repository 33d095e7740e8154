"""Roles form a ladder: each one may do everything the ones below it may."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Principal", "Role"]


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.AGENT: 1, Role.LEAD: 2, Role.MANAGER: 3, Role.ADMIN: 4}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agent through a session cookie, or an API token acting with a role."""

    role: Role
    agent_id: int | None
    team_ids: frozenset[int] = field(default_factory=frozenset)
    token_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    via_session: bool = False

    def can_see_restricted_team(self, team_id: int) -> bool:
        # A restricted team's work is visible to its members and to managers and admins above it.
        return team_id in self.team_ids or self.role.at_least(Role.MANAGER)
