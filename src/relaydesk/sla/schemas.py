"""API shapes of SLA: part of its public surface."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from relaydesk.sla.enums import ClockState, SlaTarget

__all__ = ["ClockOut", "TickResult"]


class ClockOut(BaseModel):
    """One SLA target of a ticket as the workspace shows it."""

    target: SlaTarget
    state: ClockState
    cycle: int
    policy_name: str
    policy_version: str
    calendar: str
    target_seconds: int
    elapsed_seconds: float
    # Business seconds left (negative: past due); None once fulfilled or cancelled.
    remaining_seconds: float | None
    due_at: datetime | None
    at_risk_at: datetime | None
    breached_at: datetime | None
    completed_at: datetime | None


class TickResult(BaseModel):
    at_risk: int = 0
    breached: int = 0

    @property
    def processed(self) -> int:
        return self.at_risk + self.breached
