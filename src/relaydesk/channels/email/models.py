"""Tables of the email transports: what each message became (receipts) and where IMAP polling stands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["EmailReceipt", "MailboxState", "ReceiptOutcome"]


class ReceiptOutcome(StrEnum):
    ACCEPTED = "accepted"  # a customer message on a ticket
    NOTE = "note"  # automatic mail tied to a ticket by a signed token: an internal note there
    QUARANTINED = "quarantined"  # kept whole with the reason


class EmailReceipt(IdMixin, Base):
    """One inbound email, by Message-ID: a re-delivery (MTA retry, IMAP re-fetch) is recognised."""

    __tablename__ = "email_receipts"

    # The Message-ID, or "raw-sha256:<hex>" for bytes that could not be parsed far enough to have one.
    receipt_key: Mapped[str] = mapped_column(String(500), unique=True)
    outcome: Mapped[ReceiptOutcome] = mapped_column(enum_column(ReceiptOutcome))
    # Where it came in: "email:smtp", "email:imap", "email:cli".
    source: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    quarantine_id: Mapped[int | None] = mapped_column(
        ForeignKey("quarantined_inputs.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxState(IdMixin, Base):
    """How far IMAP polling has read one mailbox folder (UIDs are only meaningful per UIDVALIDITY)."""

    __tablename__ = "email_mailbox_states"

    # "imap://user@host:port/folder": the same mailbox configured twice shares its state.
    mailbox: Mapped[str] = mapped_column(String(500), unique=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    # Stored in the commit of the messages they hold, flagged \Seen (or moved) after it; re-applied
    # on the next pass, so a crash between commit and flagging never leaves one unmarked for good.
    pending_uids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
