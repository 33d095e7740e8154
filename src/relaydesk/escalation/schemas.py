"""API shapes of the escalation domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relaydesk.escalation.enums import AckState, EscalationMove
from relaydesk.kit.ids import RecordId
from relaydesk.tickets.enums import AuthorKind, EscalationLevel

__all__ = ["DeEscalateIn", "EscalateIn", "EscalationOut"]

NOTE_MAX = 10_000


class EscalateIn(BaseModel):
    """Up to the next level (nothing named), to ``to_level``, or sideways to ``to_team_id``."""

    model_config = ConfigDict(extra="forbid")

    to_level: EscalationLevel | None = None
    to_team_id: RecordId | None = None
    reason: str = Field(min_length=1, max_length=80)
    note: str = Field(default="", max_length=NOTE_MAX)


class DeEscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=NOTE_MAX)
    to_level: EscalationLevel | None = None

    @model_validator(mode="after")
    def _said_something(self) -> DeEscalateIn:
        if not self.note.strip():
            raise ValueError("say in the note what was done and why the ticket goes back down")
        return self


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    move: EscalationMove
    path: str
    from_level: EscalationLevel
    to_level: EscalationLevel
    from_team_id: int | None
    to_team_id: int | None
    from_assignee_id: int | None
    reason: str
    note: str
    actor_kind: AuthorKind
    actor_id: int | None
    policy_version: str
    ack_state: AckState
    ack_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    created_at: datetime
