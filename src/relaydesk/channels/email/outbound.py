"""Outbound replies: MIME messages whose Message-ID and Reply-To carry a signed ticket token."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from relaydesk.channels.email.html_body import sanitize_html
from relaydesk.channels.email.model import Attachment
from relaydesk.channels.email.tokens import make_reply_token
from relaydesk.kit.time import utcnow

__all__ = ["build_reply", "reply_subject"]

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw|vs)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# RFC 5322 suggests keeping the first and the most recent ids when References grows long.
_MAX_REFERENCES = 20
_STABLE_ID = re.compile(r"<[!-;=?-~]{1,400}@[a-z0-9.-]{1,100}>")


def _single_line(value: str) -> str:
    # Header injection guard: user-controlled subjects and names must never add header lines.
    return re.sub(r"[\r\n\x00]+", " ", value).strip()


def reply_subject(subject: str) -> str:
    """'Re: <subject>' with any existing reply prefixes (Re:, AW:, SV: ...) collapsed into one."""
    base = _REPLY_PREFIX.sub("", _single_line(subject))
    return f"Re: {base}" if base else "Re: your request"


def _mailbox(value: str) -> tuple[str, str]:
    parsed = getaddresses([_single_line(value)])
    name, address = parsed[0] if parsed else ("", "")
    if "@" not in address:
        raise ValueError(f"not an email address: {value!r}")
    return name, address


def _references(in_reply_to: str | None, references: Sequence[str]) -> list[str]:
    chain = [_single_line(ref) for ref in references if ref.strip()]
    if in_reply_to and _single_line(in_reply_to) not in chain:
        chain.append(_single_line(in_reply_to))
    if len(chain) > _MAX_REFERENCES:
        chain = [chain[0], *chain[-(_MAX_REFERENCES - 1) :]]
    return chain


def build_reply(
    *,
    ticket_id: int,
    secret: bytes,
    support_address: str,
    support_domain: str,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    auto_acknowledgement: bool = False,
    now: datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A reply to a ticket, threaded for mail clients and routable back via its signed token.

    ``message_id`` (from ``tokens.outbound_message_id``) keeps the Message-ID stable across retries
    of the same reply; without it a random one is made.
    """
    token = make_reply_token(ticket_id, secret)
    domain = support_domain.strip().lower()
    support_name, support_mailbox = _mailbox(support_address)
    local_part = support_mailbox.rsplit("@", 1)[0].split("+", 1)[0]
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("a reply needs at least one recipient")

    message = EmailMessage()
    message["From"] = Address(display_name=support_name, addr_spec=support_mailbox)
    message["To"] = [Address(display_name=name, addr_spec=addr) for name, addr in map(_mailbox, recipients)]
    message["Reply-To"] = Address(display_name=support_name, addr_spec=f"{local_part}+{token}@{domain}")
    message["Subject"] = reply_subject(subject)
    message["Date"] = format_datetime((now or utcnow()).astimezone(UTC))
    if message_id is not None and not _STABLE_ID.fullmatch(message_id):
        raise ValueError(f"not a Message-ID: {message_id!r}")
    message["Message-ID"] = message_id or f"<{token}.{secrets.token_hex(10)}@{domain}>"
    chain = _references(in_reply_to, references)
    if in_reply_to:
        message["In-Reply-To"] = _single_line(in_reply_to)
    if chain:
        message["References"] = " ".join(chain)
    if auto_acknowledgement:
        # RFC 3834 marking, plus the Exchange hint that stops out-of-office ping-pong.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    if html is not None:
        message.add_alternative(sanitize_html(html), subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.payload,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message
