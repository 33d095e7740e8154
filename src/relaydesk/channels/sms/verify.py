"""Verification of the gateway's webhooks: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, public
URL + every form field name and value, sorted by name)). The public URL is ``RELAYDESK_BASE_URL`` + the
request path, because behind a proxy the server cannot see the address the gateway called.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings

__all__ = ["SIGNATURE_HEADER", "sms_signature", "verify_sms_signature"]

SIGNATURE_HEADER = "X-Twilio-Signature"


def sms_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    payload = url + "".join(f"{key}{value}" for key, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _auth_token() -> str:
    token = get_settings().sms_auth_token
    if token is None:
        raise InputRejectedError("channel_disabled", "The SMS channel is not configured.", status_code=404)
    return token.get_secret_value()


def verify_sms_signature(url: str, params: list[tuple[str, str]], signature: str) -> None:
    """Raise InputRejectedError unless the gateway signed these fields for this URL."""
    if not constant_time_equals(sms_signature(_auth_token(), url, params), signature):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
