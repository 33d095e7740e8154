"""Tables of the tickets domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin, enum_column
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import (
    AuthorKind,
    Channel,
    DeliveryState,
    EscalationLevel,
    Priority,
    QueueKind,
    TicketStatus,
)

__all__ = ["Attachment", "Message", "Ticket", "TicketEvent"]


class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_priority", "status", "priority"),
        Index("ix_tickets_team_status", "team_id", "status"),
        # The inbox's queue views and flag filters (migration 0022). The flags index is GIN on
        # PostgreSQL (JSONB containment); on SQLite it is a plain index the filter does not use.
        Index("ix_tickets_queue_status", "queue", "status"),
        Index("ix_tickets_flags", "flags", postgresql_using="gin"),
    )

    subject: Mapped[str] = mapped_column(String(500), default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    status: Mapped[TicketStatus] = mapped_column(enum_column(TicketStatus), default=TicketStatus.NEW)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.NORMAL)
    category: Mapped[str | None] = mapped_column(String(120))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    escalation_level: Mapped[EscalationLevel] = mapped_column(
        enum_column(EscalationLevel), default=EscalationLevel.FRONTLINE
    )
    queue: Mapped[QueueKind | None] = mapped_column(enum_column(QueueKind))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    # Replies go here unless the agent picks another channel.
    reply_channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    language: Mapped[str | None] = mapped_column(String(16))
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    first_response_at: Mapped[datetime | None]
    last_customer_message_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Optimistic concurrency: a PATCH naming an old version is a 409, not a lost update.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(IdMixin, Base):
    __tablename__ = "messages"
    # A provider retry carries the same id: the unique key makes it harmless.
    __table_args__ = (UniqueConstraint("channel", "provider_message_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[AuthorKind] = mapped_column(enum_column(AuthorKind))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    delivery_state: Mapped[DeliveryState] = mapped_column(
        enum_column(DeliveryState), default=DeliveryState.RECEIVED
    )
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", lazy="selectin"
    )


class Attachment(IdMixin, Base):
    __tablename__ = "attachments"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to the upload directory; content-addressed so duplicates are stored once.
    storage_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class TicketEvent(IdMixin, Base):
    """Append-only: the timeline, SLA clocks, reports and webhooks all read from it."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(80), index=True)
    actor_kind: Mapped[AuthorKind] = mapped_column(enum_column(AuthorKind))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
