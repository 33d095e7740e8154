"""What every channel adapter produces (``InboundMessage``) and implements (``OutboundSender``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel

__all__ = [
    "ChannelNotConfiguredError",
    "InboundAttachment",
    "InboundMessage",
    "OutboundMessage",
    "OutboundSender",
    "SendError",
    "get_sender",
    "idempotency_headers",
    "register_sender",
    "registered_senders",
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


_senders: dict[Channel, Callable[[OutboundMessage], str | None]] = {}


def register_sender(channel: Channel) -> Callable[[OutboundSender], OutboundSender]:
    def register(sender: OutboundSender) -> OutboundSender:
        _senders[channel] = sender
        return sender

    return register


def get_sender(channel: Channel) -> Callable[[OutboundMessage], str | None] | None:
    return _senders.get(channel)


def registered_senders() -> dict[Channel, Callable[[OutboundMessage], str | None]]:
    return dict(_senders)
