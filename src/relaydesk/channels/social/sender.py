"""Replies through the network's send API (the outbox's sender for ``Channel.SOCIAL``)."""

from __future__ import annotations

import httpx

from relaydesk.channels.base import ChannelNotConfiguredError, OutboundMessage, SendError, idempotency_headers
from relaydesk.settings import get_settings

__all__ = ["send_social"]


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
