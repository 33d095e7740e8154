"""Tables of the phone channel: the callback workflow of a ticket (its own table, not the ticket's
customer-facing ``custom_fields``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["CallbackStatus", "PhoneCallback"]


class CallbackStatus(StrEnum):
    REQUESTED = "requested"  # waiting in the callback queue
    IN_PROGRESS = "in_progress"  # an agent is on the call (the provider said call.started)
    COMPLETED = "completed"  # the call ended; the callback leaves the queue


class PhoneCallback(Base):
    """A customer's request to be called back, one per ticket (the request opens its own ticket)."""

    __tablename__ = "phone_callbacks"
    __table_args__ = (Index("ix_phone_callbacks_status", "status"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # Normalised (E.164), the number to call.
    phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[CallbackStatus] = mapped_column(
        enum_column(CallbackStatus), default=CallbackStatus.REQUESTED
    )
    preferred_at: Mapped[datetime | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The latest call's start and end, as the provider reported them.
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Calls started for this callback (a dropped call that is tried again counts twice).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
