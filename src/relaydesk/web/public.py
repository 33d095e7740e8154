"""The edge of the customer-facing public routes (the suggestions API, the help center's search, the
contact form, the feedback pages): one rate limit per client address across all of them, and a body
size cap checked before anything is parsed."""

from __future__ import annotations

from fastapi import Request

from relaydesk.kit.errors import PayloadTooLargeError
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings

__all__ = ["MAX_PUBLIC_BODY_BYTES", "public_guard", "reset_limiter"]

# Public bodies are a query of at most 500 characters and a few ids (a contact form a few KB):
# anything bigger is not ours.
MAX_PUBLIC_BODY_BYTES = 64 * 1024
_limiter: RateLimiter | None = None


def public_guard(request: Request) -> None:
    """Rate limit per client address and refuse oversized bodies before they are parsed."""
    global _limiter
    # Named for deflection, where the public routes began; it covers every route that uses this guard.
    limit = get_settings().deflection_rate_per_minute
    if _limiter is None or _limiter.limit != limit:
        _limiter = RateLimiter(limit)
    _limiter.hit(request.client.host if request.client else "unknown")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PUBLIC_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body is over the {MAX_PUBLIC_BODY_BYTES}-byte limit.")


def reset_limiter() -> None:
    """Forget every client's count (tests, or after changing the limit at run time)."""
    global _limiter
    _limiter = None
