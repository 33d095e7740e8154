"""Parsing of the gateway's inbound SMS webhook: the signed form into an ``InboundMessage``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.quarantine import InputRejectedError, describe_invalid, register_reprocessor
from relaydesk.channels.sms.verify import verify_sms_signature
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS
from relaydesk.web.inputs import Text

__all__ = ["SOURCE", "SmsForm", "parse_sms_webhook"]

SOURCE = "webhook:sms"
MAX_MEDIA = 10


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
    verify_sms_signature(meta.get("url", ""), params, str(meta.get("signature") or ""))
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
