"""Edge of the public deflection routes: a rate limit per client, a body size cap, CORS for widgets."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from relaydesk.kit.errors import PayloadTooLargeError
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings
from relaydesk.web.cors import add_cors

__all__ = ["MAX_PUBLIC_BODY_BYTES", "preflight", "public_guard", "reset_limiter"]

# Public bodies are a query of at most 500 characters and a few ids (a contact form a few KB):
# anything bigger is not ours.
MAX_PUBLIC_BODY_BYTES = 64 * 1024
_limiter: RateLimiter | None = None


def public_guard(request: Request) -> None:
    """Rate limit per client address and refuse oversized bodies before they are parsed."""
    global _limiter
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


def preflight(request: Request) -> Response:
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return add_cors(request, response)
