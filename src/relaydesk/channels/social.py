"""Social messaging in the shape of the common business-messaging APIs (Messenger, Instagram, WhatsApp).

Subscription: ``GET`` with ``hub.mode=subscribe``, ``hub.verify_token`` and ``hub.challenge``; the
challenge is echoed when the token matches. Events: ``POST`` JSON signed with ``X-Hub-Signature-256:
sha256=<HMAC-SHA256(app secret, raw body)>``. Replies go out through the send API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from relaydesk.channels.base import (
    ChannelNotConfiguredError,
    InboundMessage,
    OutboundMessage,
    SendError,
    register_sender,
)
from relaydesk.channels.quarantine import InputRejectedError, register_reprocessor
from relaydesk.customers.models import IdentityKind
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel

__all__ = [
    "SIGNATURE_HEADER",
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
        or not hmac.compare_digest(token or "", expected.get_secret_value())
    ):
        raise InputRejectedError("bad_verify_token", "The verify token does not match.", status_code=403)
    return challenge


@register_reprocessor(SOURCE)
def parse_social_webhook(raw: bytes, meta: dict[str, Any]) -> list[InboundMessage]:
    """Verify the signature and turn every text message event into an InboundMessage."""
    secret = get_settings().social_app_secret
    if secret is None:
        raise InputRejectedError("channel_disabled", "The social channel is not configured.", status_code=404)
    if not hmac.compare_digest(
        social_signature(secret.get_secret_value(), raw), str(meta.get("signature") or "")
    ):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
    try:
        payload = json.loads(raw)
        network = str(payload["object"])
        entries = payload["entry"]
        if not isinstance(entries, list):
            raise TypeError("entry must be a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise InputRejectedError("malformed", f"The event is not in the expected shape: {exc}.") from None
    messages: list[InboundMessage] = []
    for entry in entries:
        for event in entry.get("messaging", []) if isinstance(entry, dict) else []:
            message = event.get("message") if isinstance(event, dict) else None
            sender = (event.get("sender") or {}).get("id") if isinstance(event, dict) else None
            if not isinstance(message, dict) or not sender or message.get("is_echo"):
                continue  # delivery receipts, reads and our own echoes are not customer messages
            messages.append(
                InboundMessage(
                    channel=Channel.SOCIAL,
                    identity_kind=IdentityKind.SOCIAL,
                    identity_value=f"{network}:{sender}",
                    identity_verified=True,
                    # The signed webhook says the network's user sent it.
                    identity_proven=True,
                    text=str(message.get("text") or ""),
                    provider_message_id=str(message.get("mid") or "") or None,
                    meta={
                        "network": network,
                        "page_id": (event.get("recipient") or {}).get("id"),
                        "attachments": message.get("attachments") or [],
                        # A public comment moved to a private conversation keeps its origin.
                        "origin_post": event.get("post_id"),
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
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SendError(f"Social send API unreachable: {exc}") from exc
    if response.status_code >= 300:
        raise SendError(f"Social send API answered {response.status_code}: {response.text[:300]}")
    mid = response.json().get("message_id")
    return str(mid) if mid else None
