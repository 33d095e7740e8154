"""Tables of the channels domain: quarantined input and the outbound delivery record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["Delivery", "DeliveryStatus", "QuarantineStatus", "QuarantinedInput"]


class QuarantineStatus(StrEnum):
    HELD = "held"  # waiting for an admin (or a fix) to reprocess it
    REPROCESSED = "reprocessed"  # accepted on a later try
    DISCARDED = "discarded"  # an admin decided it is junk; the raw bytes stay for audit


class QuarantinedInput(IdMixin, Base):
    """Input that could not be parsed or trusted, kept whole with the reason: nothing is dropped."""

    __tablename__ = "quarantined_inputs"
    __table_args__ = (Index("ix_quarantined_inputs_status_id", "status", "id"),)

    channel: Mapped[str] = mapped_column(String(32))
    # Where it came in: "webhook:sms", "email:smtp", "email:imap", "email:cli", ...
    source: Mapped[str] = mapped_column(String(64))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Request metadata needed to re-check it later (headers, URL), never secrets.
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[QuarantineStatus] = mapped_column(
        enum_column(QuarantineStatus), default=QuarantineStatus.HELD
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not handed to the provider yet, or the last try failed (last_error says how)
    # Handed to the provider and committed before the call; the outcome is not recorded yet. Found
    # on a retry it means the worker stopped mid-call: sent again under the same idempotency key.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # out of retries; the message shows it and an agent can resend


class Delivery(IdMixin, Base):
    """One outbound message to the customer's channel, delivered once through the job queue."""

    __tablename__ = "deliveries"

    # One delivery per message: the unique key is what makes delivery happen once.
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
