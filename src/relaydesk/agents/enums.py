"""Enumerations of the agents domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AgentStatus", "StatusChangeReason"]


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


class StatusChangeReason(StrEnum):
    """Who or what changed an agent's presence (kept on each ``agent_status_changes`` row)."""

    SELF = "self"  # the agent, from the header or PATCH /api/v1/agents/me/status
    ADMIN = "admin"  # an admin, on the agent's record
    AUTO_AWAY = "auto_away"  # the agents.auto_away job, after inactivity
    SYSTEM = "system"  # anything else: the demo seed, routing, an import
