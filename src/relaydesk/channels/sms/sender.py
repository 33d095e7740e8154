"""Replies by SMS through the gateway's REST API (the outbox's sender for ``Channel.SMS``)."""

from __future__ import annotations

import httpx

from relaydesk.channels.base import ChannelNotConfiguredError, OutboundMessage, SendError, idempotency_headers
from relaydesk.settings import get_settings

__all__ = ["send_sms"]


def send_sms(message: OutboundMessage) -> str | None:
    settings = get_settings()
    if settings.sms_auth_token is None or not settings.sms_account_sid or not settings.sms_from_number:
        raise ChannelNotConfiguredError(
            "SMS is not configured (RELAYDESK_SMS_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER)."
        )
    url = f"{settings.sms_api_base.rstrip('/')}/2010-04-01/Accounts/{settings.sms_account_sid}/Messages.json"
    try:
        response = httpx.post(
            url,
            data={"From": settings.sms_from_number, "To": message.recipient, "Body": message.text},
            auth=(settings.sms_account_sid, settings.sms_auth_token.get_secret_value()),
            headers=idempotency_headers(message),
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SendError(f"SMS gateway unreachable: {exc}") from exc
    if response.status_code >= 300:
        raise SendError(f"SMS gateway answered {response.status_code}: {response.text[:300]}")
    sid = response.json().get("sid")
    return str(sid) if sid else None
