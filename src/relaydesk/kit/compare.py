"""Constant-time comparison of secrets (tokens, signatures, CSRF values) from outside.

``hmac.compare_digest`` raises ``TypeError`` for two ``str`` values with non-ASCII characters, so a
client sending ``é`` in a signature header turned a refusal into a 500. Every secret comparison goes
through here and compares UTF-8 bytes instead.
"""

from __future__ import annotations

import hmac

__all__ = ["constant_time_equals"]


def _as_bytes(value: str | bytes) -> bytes:
    # surrogatepass: a lone surrogate from a JSON "\ud800" escape still compares (as unequal).
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def constant_time_equals(expected: str | bytes, candidate: str | bytes | None) -> bool:
    """True when ``candidate`` equals ``expected``, in time that does not depend on where they differ."""
    if candidate is None:
        return False
    return hmac.compare_digest(_as_bytes(expected), _as_bytes(candidate))
