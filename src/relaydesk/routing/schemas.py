"""API shapes of the routing domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from relaydesk.kit.ids import RecordId
from relaydesk.routing.enums import OfferState
from relaydesk.tickets.enums import QueueKind

__all__ = [
    "AgentLoadOut",
    "DeclineIn",
    "OfferOut",
    "OfferOutcomesOut",
    "QueueOut",
    "ReassignIn",
    "TicketPlaceOut",
]


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    agent_id: int
    state: OfferState
    offered_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    reason: str


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: RecordId


class QueueOut(BaseModel):
    queue: QueueKind
    waiting: int
    longest_wait_seconds: float | None
    # For a ticket joining now; null when there is no basis (nothing handled recently, nobody online).
    expected_wait_seconds: float | None


class AgentLoadOut(BaseModel):
    agent_id: int
    name: str
    status: str
    # Weighted: the sum of the channel weights of the tickets the agent is working.
    load: int
    open_tickets: dict[str, int]
    open_offers: int
    capacity: dict[str, int]


class OfferOutcomesOut(BaseModel):
    since: datetime
    totals: dict[str, int]
    by_agent: dict[int, dict[str, int]]


class TicketPlaceOut(BaseModel):
    ticket_id: int
    queue: QueueKind | None
    # 1 = next; null when the ticket is not waiting in the live or messaging queue.
    position: int | None
    expected_wait_seconds: float | None
