"""What every channel adapter produces (``InboundMessage``), implements (``OutboundSender``) and is
(``Adapter``: the record ``channels.registry`` lists for the app and the outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fastapi import APIRouter

from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel

__all__ = [
    "Adapter",
    "ChannelNotConfiguredError",
    "InboundAttachment",
    "InboundMessage",
    "OutboundMessage",
    "OutboundSender",
    "SendError",
    "idempotency_headers",
]


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message, normalised by an adapter from whatever its provider sent."""

    channel: Channel
    identity_kind: IdentityKind
    identity_value: str
    text: str
    provider_message_id: str | None
    # Verified means the provider or a signature proved the identity (a signed widget user id, a
    # phone number the SMS gateway delivered from); verified identities link customers automatically.
    identity_verified: bool = False
    # Proven means the sender showed they are the holder of ``identity_value`` (a signed widget
    # identity or the visitor token's own visitor id, a signed SMS/social webhook, an email whose From
    # a trusted receiving MTA authenticated). Only a proven message may join the customer's open
    # ticket; an unproven one (a web or callback form, plain email) always opens a new ticket, so
    # typing someone's address never writes into, reveals or re-routes their conversation. Each
    # adapter sets it explicitly; the default fails closed.
    identity_proven: bool = False
    display_name: str = ""
    subject: str = ""
    html: str | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    # A ticket the message provably belongs to (a signed reply token); None means "thread by customer"
    # when the identity is proven, else "open a new ticket".
    ticket_id: int | None = None
    # A customer the message provably comes from without an identity lookup (a signed status-page
    # link names the customer); intake takes it as is, and ``identity_value`` is then only the address
    # replies go to ("" for none).
    customer_id: int | None = None
    received_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundMessage:
    ticket_id: int
    message_id: int
    channel: Channel
    recipient: str
    text: str
    subject: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    # The customer's status page, when ``text`` carries a link to it (the email sender links it in HTML).
    status_url: str = ""
    # The same on every try of one delivery: a provider that honours it sends a repeated try once.
    idempotency_key: str = ""


def idempotency_headers(message: OutboundMessage) -> dict[str, str]:
    """The HTTP header that lets a provider honouring it deliver a repeated try once."""
    return {"Idempotency-Key": message.idempotency_key} if message.idempotency_key else {}


class SendError(Exception):
    """The provider refused or could not be reached; the delivery job retries with backoff."""


class ChannelNotConfiguredError(SendError):
    """No credentials for this channel: retrying cannot help, so the reply is marked failed at once."""


class OutboundSender(Protocol):
    def __call__(self, message: OutboundMessage) -> str | None:
        """Send the message; return the provider's message id when it gives one."""
        ...


@dataclass(frozen=True)
class Adapter:
    """One channel adapter as the rest of Relaydesk sees it: the customer channels it serves, its
    routes (webhooks, public forms; None when it has none, as email over SMTP/IMAP) and the sender the
    outbox delivers replies with (None for channels without one: the phone is answered by calling)."""

    name: str
    channels: tuple[Channel, ...]
    router: APIRouter | None = None
    sender: OutboundSender | None = None
