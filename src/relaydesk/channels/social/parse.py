"""Parsing of the network's signed webhook events: every customer text message into an
``InboundMessage``; a public post moved to a private conversation keeps ``origin_post`` in the meta."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.quarantine import InputRejectedError, describe_invalid, register_reprocessor
from relaydesk.channels.social.verify import verify_social_signature
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS
from relaydesk.web.inputs import Text

__all__ = ["SOURCE", "SocialEvents", "parse_social_webhook"]

SOURCE = "webhook:social"


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
    verify_social_signature(raw, str(meta.get("signature") or ""))
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
