"""Verification of the telephony provider's call events: JSON signed with
``X-Relaydesk-Signature: sha256=<hex HMAC-SHA256(secret, body)>``."""

from __future__ import annotations

import hashlib
import hmac

from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings

__all__ = ["SIGNATURE_HEADER", "phone_signature", "verify_phone_signature"]

SIGNATURE_HEADER = "X-Relaydesk-Signature"


def phone_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_phone_signature(raw: bytes, signature: str) -> None:
    """Raise InputRejectedError unless the provider signed this body with our webhook secret."""
    secret = get_settings().phone_webhook_secret
    if secret is None:
        raise InputRejectedError("channel_disabled", "The phone channel is not configured.", status_code=404)
    if not constant_time_equals(phone_signature(secret.get_secret_value(), raw), signature):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
