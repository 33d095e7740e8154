"""Verification of the network's webhooks: the subscription handshake (``hub.verify_token``) and the
event signature ``X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>``."""

from __future__ import annotations

import hashlib
import hmac

from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings

__all__ = ["SIGNATURE_HEADER", "social_signature", "verify_social_signature", "verify_subscription"]

SIGNATURE_HEADER = "X-Hub-Signature-256"


def social_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_subscription(mode: str | None, token: str | None, challenge: str | None) -> str:
    """The challenge to echo when the network subscribes with our verify token."""
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


def verify_social_signature(raw: bytes, signature: str) -> None:
    """Raise InputRejectedError unless the network signed this body with our app secret."""
    secret = get_settings().social_app_secret
    if secret is None:
        raise InputRejectedError("channel_disabled", "The social channel is not configured.", status_code=404)
    if not constant_time_equals(social_signature(secret.get_secret_value(), raw), signature):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
