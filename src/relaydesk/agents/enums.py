"""Enumerations of the agents domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AgentStatus"]


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"
