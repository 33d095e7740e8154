"""Parsing of the telephony provider's signed call events (started, ended, recording, notes)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relaydesk.channels.phone.verify import verify_phone_signature
from relaydesk.channels.quarantine import InputRejectedError, describe_invalid
from relaydesk.kit.ids import RecordId
from relaydesk.web.inputs import Text

__all__ = ["SOURCE", "CallEvent", "parse_call_event"]

SOURCE = "webhook:phone"


class CallEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Literal["call.started", "call.ended", "call.recording", "call.notes"]
    call_id: Text = Field(min_length=1, max_length=200)
    ticket_id: RecordId | None = None
    phone: Text | None = Field(default=None, max_length=32)
    agent_id: RecordId | None = None
    duration_seconds: int | None = Field(default=None, ge=0)
    recording_url: Text | None = Field(default=None, max_length=2000)
    notes: Text | None = Field(default=None, max_length=20_000)
    # Derived from the signed body, never read from it: a replayed event is applied once.
    event_key: str = Field(default="", exclude=True)


def parse_call_event(raw: bytes, meta: dict[str, Any]) -> CallEvent:
    verify_phone_signature(raw, str(meta.get("signature") or ""))
    try:
        event = CallEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise InputRejectedError(
            "malformed", f"The call event is not valid: {describe_invalid(exc)}.", verified=True
        ) from None
    return event.model_copy(update={"event_key": hashlib.sha256(raw).hexdigest()})
