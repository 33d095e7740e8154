"""Signed reply tokens that thread inbound mail to tickets without trusting unsigned identifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable

from relaydesk.channels.email.model import ParsedEmail
from relaydesk.kit.compare import constant_time_equals

__all__ = ["extract_ticket_id", "make_reply_token", "outbound_message_id", "verify_reply_token"]

# Lower-case only: some MTAs lower-case local parts, which must not break verification.
_TOKEN = re.compile(r"^r([1-9a-z][0-9a-z]{0,12})-([a-z2-7]{16})$")
_MAC_BYTES = 10  # 80 bits: forging needs ~2**80 guesses, each one an email round trip.
_MAX_TICKET_ID = 2**63 - 1
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 36)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def _mac(ticket_id: int, secret: bytes) -> str:
    if not secret:
        raise ValueError("reply token secret must not be empty")
    digest = hmac.new(secret, f"relaydesk-reply-token:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:_MAC_BYTES]).decode("ascii").lower()


def make_reply_token(ticket_id: int, secret: bytes) -> str:
    """Short token 'r<base36 id>-<mac>' safe in an email local part and a Message-ID."""
    if not 0 < ticket_id <= _MAX_TICKET_ID:
        raise ValueError(f"ticket id out of range: {ticket_id}")
    return f"r{_base36(ticket_id)}-{_mac(ticket_id, secret)}"


def outbound_message_id(ticket_id: int, message_id: int, secret: bytes, support_domain: str) -> str:
    """The Message-ID of one outbound reply: the same on every retry, so recipients can dedupe.

    ``<token.m<base36 message id>@domain>``: the token part threads the customer's answer back.
    """
    if message_id <= 0:
        raise ValueError(f"message id out of range: {message_id}")
    token = make_reply_token(ticket_id, secret)
    return f"<{token}.m{_base36(message_id)}@{support_domain.strip().lower()}>"


def verify_reply_token(token: str, secret: bytes) -> int | None:
    """The ticket id if the token was signed with `secret`, else None."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    ticket_id = int(match.group(1), 36)
    if ticket_id > _MAX_TICKET_ID:
        return None
    expected = _mac(ticket_id, secret)
    if not constant_time_equals(expected, match.group(2)):
        return None
    return ticket_id


def _plus_tokens(addresses: Iterable[str], domain: str) -> Iterable[str]:
    for address in addresses:
        local, _, address_domain = address.rpartition("@")
        if address_domain.lower() == domain and "+" in local:
            yield local.split("+", 1)[1]


def _message_id_tokens(message_ids: Iterable[str], domain: str) -> Iterable[str]:
    for message_id in message_ids:
        inner = message_id.strip().strip("<>")
        left, _, id_domain = inner.rpartition("@")
        if id_domain.lower() == domain and "." in left:
            yield left.split(".", 1)[0]


def extract_ticket_id(parsed: ParsedEmail, secret: bytes, support_domain: str) -> int | None:
    """Ticket id from a validly signed plus-address or Relaydesk Message-ID, else None."""
    domain = support_domain.strip().lower()
    recipients = [mailbox.address for mailbox in (*parsed.to, *parsed.cc)]
    # The most recent message in the thread comes last in References, so search it newest first.
    thread_ids = [*([parsed.in_reply_to] if parsed.in_reply_to else []), *reversed(parsed.references)]
    candidates = [*_plus_tokens(recipients, domain), *_message_id_tokens(thread_ids, domain)]
    for token in candidates:
        ticket_id = verify_reply_token(token, secret)
        if ticket_id is not None:
            return ticket_id
    return None
