"""API shapes of the tickets domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.ids import RecordId
from relaydesk.tickets.enums import (
    AuthorKind,
    Channel,
    DeliveryState,
    EscalationLevel,
    Priority,
    QueueKind,
    TicketStatus,
)

__all__ = [
    "MESSAGE_BODY_MAX_CHARS",
    "AttachmentOut",
    "CustomerRef",
    "EventOut",
    "EventPage",
    "MessageCreate",
    "MessageOut",
    "StatusChange",
    "TicketCreate",
    "TicketOut",
    "TicketPage",
    "TicketUpdate",
]

# The longest message text Relaydesk stores, whoever writes it (an agent, the API, a provider webhook).
MESSAGE_BODY_MAX_CHARS = 50_000

# Flags are short machine names ("legal_threat", "vip"), written by phrase rules and agents.
Flag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.:-]{1,64}$")]


class CustomerRef(BaseModel):
    """Who the ticket is for: an existing id, or an identity that is found or created."""

    model_config = ConfigDict(extra="forbid")

    id: RecordId | None = None
    kind: IdentityKind | None = None
    value: str | None = Field(default=None, max_length=320)
    name: str = Field(default="", max_length=200)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=MESSAGE_BODY_MAX_CHARS)
    customer: CustomerRef
    channel: Channel = Channel.API
    priority: Priority = Priority.NORMAL
    category: str | None = Field(default=None, max_length=120)
    team_id: RecordId | None = None
    flags: list[Flag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    # When the ticket is recorded on the customer's behalf (a phone call) the first message is theirs.
    provider_message_id: str | None = Field(default=None, max_length=500)


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=500)
    priority: Priority | None = None
    category: str | None = Field(default=None, max_length=120)
    team_id: RecordId | None = None
    assignee_id: RecordId | None = None
    escalation_level: EscalationLevel | None = None
    queue: QueueKind | None = None
    reply_channel: Channel | None = None
    language: str | None = Field(default=None, max_length=16)
    flags: list[Flag] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    reason: str | None = Field(default=None, max_length=1000)
    # Optimistic concurrency: when given, a ticket changed by someone else since is a 409.
    version: int | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus
    reason: str | None = Field(default=None, max_length=1000)


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MESSAGE_BODY_MAX_CHARS)
    public: bool = True
    channel: Channel | None = None
    # The address to answer when the customer's changed since the ticket began (tickets/destination.py).
    confirm_recipient: str | None = Field(default=None, min_length=1, max_length=320)


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    author_kind: AuthorKind
    author_agent_id: int | None
    author_customer_id: int | None
    channel: Channel
    public: bool
    body_text: str
    body_html: str | None
    provider_message_id: str | None
    delivery_state: DeliveryState
    attachments: list[AttachmentOut]
    created_at: datetime


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    customer_id: int
    status: TicketStatus
    priority: Priority
    category: str | None
    team_id: int | None
    assignee_id: int | None
    escalation_level: EscalationLevel
    queue: QueueKind | None
    channel: Channel
    reply_channel: Channel
    language: str | None
    flags: list[str]
    custom_fields: dict[str, Any]
    reopen_count: int
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    kind: str
    actor_kind: AuthorKind
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
