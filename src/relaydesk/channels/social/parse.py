"""Social messaging in the shape of the common business-messaging APIs (Messenger, Instagram, WhatsApp).

Subscription: ``GET`` with ``hub.mode=subscribe``, ``hub.verify_token`` and ``hub.challenge``; the
challenge is echoed when the token matches. Events: ``POST`` JSON signed with ``X-Hub-Signature-256:
sha256=<HMAC-SHA256(app secret, raw body)>``. Replies go out through the send API.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relaydesk.channels.base import (
    ChannelNotConfiguredError,
    InboundMessage,
    OutboundMessage,
    SendError,
    idempotency_headers,
    register_sender,
)
from relaydesk.channels.quarantine import InputRejectedError, describe_invalid, register_reprocessor
from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS
from relaydesk.web.inputs import Text

__all__ = [
    "SIGNATURE_HEADER",
    "SocialEvents",
    "parse_social_webhook",
    "send_social",
    "social_signature",
    "verify_subscription",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
SOURCE = "webhook:social"


def social_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_subscription(mode: str | None, token: str | None, challenge: str | None) -> str:
    expected = get_settings().social_verify_token
    if expected is None:
        raise InputRejectedError("channel_disabled", "The social channel is not configured.", status_code=404)
    if (
        mode != "subscribe"
        or not challenge
        or not constant_time_equals(expected.get_secret_value(), token or "")
    ):
        raise InputRejectedError("bad_verify_token", "The verify token does not match.", status_code=403)
    return challenge


class _Party(BaseModel):
    # A page-scoped id is a string; an object or a number in its place is a malformed event.
    id: Text = Field(min_length=1, max_length=128)


class _MessageBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mid: Text | None = Field(default=None, max_length=400)
    text: Text | None = Field(default=None, max_length=MESSAGE_BODY_MAX_CHARS)
    is_echo: bool = False
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class _MessagingEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sender: _Party | None = None
    recipient: _Party | None = None
    # Delivery receipts and reads carry no message; they are not customer messages.
    message: _MessageBody | None = None
    post_id: Text | None = Field(default=None, max_length=200)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messaging: list[_MessagingEvent] = Field(default_factory=list, max_length=1000)


class SocialEvents(BaseModel):
    """The signed JSON of one webhook call, validated: anything else is quarantined with the reason."""

    model_config = ConfigDict(extra="ignore")

    object: Text = Field(min_length=1, max_length=64)
    entry: list[_Entry] = Field(max_length=1000)


@register_reprocessor(SOURCE)
def parse_social_webhook(raw: bytes, meta: dict[str, Any]) -> list[InboundMessage]:
    """Verify the signature and turn every text message event into an InboundMessage."""
    secret = get_settings().social_app_secret
    if secret is None:
        raise InputRejectedError("channel_disabled", "The social channel is not configured.", status_code=404)
    if not constant_time_equals(
        social_signature(secret.get_secret_value(), raw), str(meta.get("signature") or "")
    ):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
    try:
        payload = SocialEvents.model_validate_json(raw)
    except ValidationError as exc:
        raise InputRejectedError(
            "malformed", f"The event is not in the expected shape: {describe_invalid(exc)}.", verified=True
        ) from None
    # Without the provider's message id, a replay of the same signed body must still store each
    # message once: the key is derived from the body and the event's place in it.
    body_key = hashlib.sha256(raw).hexdigest()[:40]
    messages: list[InboundMessage] = []
    for entry_index, entry in enumerate(payload.entry):
        for event_index, event in enumerate(entry.messaging):
            message = event.message
            if message is None or event.sender is None or message.is_echo:
                continue  # delivery receipts, reads and our own echoes are not customer messages
            messages.append(
                InboundMessage(
                    channel=Channel.SOCIAL,
                    identity_kind=IdentityKind.SOCIAL,
                    identity_value=f"{payload.object}:{event.sender.id}",
                    identity_verified=True,
                    # The signed webhook says the network's user sent it.
                    identity_proven=True,
                    text=message.text or "",
                    provider_message_id=message.mid or f"body:{body_key}:{entry_index}:{event_index}",
                    meta={
                        "network": payload.object,
                        "page_id": event.recipient.id if event.recipient else None,
                        "attachments": message.attachments,
                        # A public comment moved to a private conversation keeps its origin.
                        "origin_post": event.post_id,
                    },
                )
            )
    return messages


@register_sender(Channel.SOCIAL)
def send_social(message: OutboundMessage) -> str | None:
    settings = get_settings()
    if settings.social_page_token is None:
        raise ChannelNotConfiguredError("The social channel has no page token (RELAYDESK_SOCIAL_PAGE_TOKEN).")
    psid = message.recipient.split(":", 1)[-1]
    try:
        response = httpx.post(
            f"{settings.social_api_base.rstrip('/')}/me/messages",
            params={"access_token": settings.social_page_token.get_secret_value()},
            json={"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": message.text}},
            headers=idempotency_headers(message),
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SendError(f"Social send API unreachable: {exc}") from exc
    if response.status_code >= 300:
        raise SendError(f"Social send API answered {response.status_code}: {response.text[:300]}")
    mid = response.json().get("message_id")
    return str(mid) if mid else None
