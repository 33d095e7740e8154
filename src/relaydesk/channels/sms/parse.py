"""SMS through a Twilio-compatible gateway: signed form-encoded webhooks in, REST API out.

Signature: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, public URL + every form field name
and value, sorted by name)). The public URL is ``RELAYDESK_BASE_URL`` + the request path, because
behind a proxy the server cannot see the address the gateway called.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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

__all__ = ["SIGNATURE_HEADER", "SmsForm", "parse_sms_webhook", "send_sms", "sms_signature"]

SIGNATURE_HEADER = "X-Twilio-Signature"
SOURCE = "webhook:sms"
MAX_MEDIA = 10


def sms_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    payload = url + "".join(f"{key}{value}" for key, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _auth_token() -> str:
    token = get_settings().sms_auth_token
    if token is None:
        raise InputRejectedError("channel_disabled", "The SMS channel is not configured.", status_code=404)
    return token.get_secret_value()


class SmsForm(BaseModel):
    """The fields of a gateway's form we use, validated; the gateway sends more, which are ignored."""

    model_config = ConfigDict(extra="ignore")

    message_sid: Text = Field(alias="MessageSid", min_length=1, max_length=64)
    sender: Text = Field(alias="From", min_length=1, max_length=64)
    to: Text = Field(alias="To", default="", max_length=64)
    body: Text = Field(alias="Body", default="", max_length=MESSAGE_BODY_MAX_CHARS)
    # At most 10 media per message (Twilio's limit); the number bounds the MediaUrl fields we read.
    num_media: int = Field(alias="NumMedia", default=0, ge=0, le=MAX_MEDIA)

    @field_validator("num_media", mode="before")
    @classmethod
    def _blank_is_zero(cls, value: object) -> object:
        return 0 if value == "" else value


def parse_sms_webhook(raw: bytes, meta: dict[str, Any]) -> InboundMessage:
    """Verify and parse one inbound SMS; raises InputRejectedError (then quarantined) otherwise."""
    try:
        params = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise InputRejectedError("malformed", "The body is not form-encoded UTF-8.") from None
    expected = sms_signature(_auth_token(), meta.get("url", ""), params)
    if not constant_time_equals(expected, str(meta.get("signature") or "")):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
    fields = dict(params)
    try:
        form = SmsForm.model_validate(fields)
    except ValidationError as exc:
        raise InputRejectedError(
            "invalid_fields", f"The SMS form is not valid: {describe_invalid(exc)}.", verified=True
        ) from None
    media = [fields[f"MediaUrl{i}"] for i in range(form.num_media) if f"MediaUrl{i}" in fields]
    return InboundMessage(
        channel=Channel.SMS,
        identity_kind=IdentityKind.PHONE,
        identity_value=form.sender,
        # The gateway delivered from this number: as verified as a phone identity gets.
        identity_verified=True,
        # The signed webhook says the gateway received it from this number.
        identity_proven=True,
        text=form.body.strip(),
        provider_message_id=form.message_sid,
        meta={"to": form.to, "media_urls": media},
    )


@register_reprocessor(SOURCE)
def _reprocess_sms(raw: bytes, meta: dict[str, Any]) -> list[InboundMessage]:
    return [parse_sms_webhook(raw, meta)]


@register_sender(Channel.SMS)
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
