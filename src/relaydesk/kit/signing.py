"""Signed, expiring tokens for values that travel outside (cookies, links in messages): one helper.

``SignedTokens(secret, purpose)`` wraps itsdangerous' URL-safe timed serializer. The purpose is its
salt, so a token made for one use (a sign-in cookie) is refused by every other (a status-page link).
Its timestamps come from ``kit.time.utcnow``: a test moves the clock to expire a token, and a token
expires on the same time the rest of Relaydesk runs on.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from relaydesk.kit.time import utcnow

__all__ = ["ExpiredTokenError", "InvalidTokenError", "SignedTokens"]


class InvalidTokenError(Exception):
    """The token was not made by us for this purpose (tampered, cut short, another purpose's)."""


class ExpiredTokenError(InvalidTokenError):
    """A token we made, past its age: the holder needs a newer one."""


class _ClockTimestampSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


class SignedTokens:
    """``dumps`` a JSON-able value into a URL-safe signed token; ``loads`` it back if fresh and ours."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        if not secret:
            raise ValueError("the signing secret must not be empty")
        self._serializer = URLSafeTimedSerializer(secret, salt=purpose, signer=_ClockTimestampSigner)

    def dumps(self, value: Any) -> str:
        return str(self._serializer.dumps(value))

    def loads(self, token: str, *, max_age_seconds: int) -> Any:
        """The signed value; ``ExpiredTokenError`` past its age, ``InvalidTokenError`` if not ours."""
        try:
            return self._serializer.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise ExpiredTokenError("the token has expired") from None
        except (BadSignature, UnicodeError, ValueError) as exc:
            raise InvalidTokenError("the token is not valid") from exc
