"""API shapes of the phone channel: a callback request, and a ticket in the callback queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from relaydesk.channels.phone.models import CallbackStatus
from relaydesk.tickets.schemas import TicketOut
from relaydesk.web.inputs import Text

__all__ = ["CallbackOut", "CallbackQueueItem", "CallbackRequest"]


class CallbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Text = Field(min_length=6, max_length=32)
    name: Text = Field(default="", max_length=200)
    reason: Text = Field(min_length=1, max_length=2000)
    # Without a time zone it is read as UTC.
    preferred_at: datetime | None = None
    language: str | None = Field(default=None, max_length=16)


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    phone: str
    status: CallbackStatus
    preferred_at: datetime | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


class CallbackQueueItem(TicketOut):
    """A ticket waiting for a callback, with the callback's own state."""

    callback: CallbackOut
