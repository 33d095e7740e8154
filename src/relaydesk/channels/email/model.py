"""Value objects produced by inbound parsing: limits, addresses, attachments and the parsed email."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["Attachment", "AutoSubmittedKind", "EmailAddress", "EmailLimits", "ParsedEmail"]

AutoSubmittedKind = Literal["auto_reply", "bounce", "bulk", "list"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class EmailLimits:
    """Resource limits beyond which a message is quarantined rather than parsed."""

    max_message_bytes: int = 30 * _MIB
    max_attachments: int = 50
    max_attachment_bytes: int = 25 * _MIB
    max_parts: int = 300
    max_depth: int = 12


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """One mailbox: display name (may be empty) and lower-cased address."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body MIME part: sanitised filename, declared type, decoded bytes and inline flag."""

    filename: str
    content_type: str
    size: int
    # Kept out of repr so logging a ParsedEmail never dumps megabytes of attachment data.
    payload: bytes = field(repr=False)
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """Everything Relaydesk needs from one inbound message, decoded and sanitised."""

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str
    from_name: str
    to: tuple[EmailAddress, ...]
    cc: tuple[EmailAddress, ...]
    reply_to: tuple[EmailAddress, ...]
    subject: str
    date: datetime | None
    text: str
    full_text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    auto_submitted: AutoSubmittedKind | None
    auto_submitted_reason: str | None
    raw_size: int
    message_id_generated: bool = False
    # Authentication-Results header values, topmost first (authresults.py decides what they prove).
    authentication_results: tuple[str, ...] = ()
