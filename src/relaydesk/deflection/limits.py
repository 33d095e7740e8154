"""Edge of the public deflection routes: a rate limit per client, a body size cap, CORS for widgets."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from relaydesk.kit.errors import PayloadTooLargeError
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings

__all__ = ["MAX_PUBLIC_BODY_BYTES", "PublicRoute", "add_cors", "preflight", "public_guard", "reset_limiter"]

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


def add_cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin")
    if origin:
        # The widget runs on the customer's site. No cookies travel on these calls and the data is
        # public help-center content, so any origin may read the answer (errors included, so a 429
        # or 422 is visible to the widget rather than an opaque network failure).
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.append("Vary", "Origin")
    return response


def preflight(request: Request) -> Response:
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return add_cors(request, response)


class PublicRoute(APIRoute):
    """Every answer of a public deflection route, errors included, carries CORS headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except Exception as exc:
                response = await _render(request, exc)
            return add_cors(request, response)

        return handler


async def _render(request: Request, exc: Exception) -> Response:
    for cls in type(exc).__mro__:
        render = request.app.exception_handlers.get(cls)
        if render is not None:
            result = render(request, exc)
            response: Response = await result if inspect.isawaitable(result) else result
            details = getattr(exc, "details", None)
            if isinstance(details, dict) and "retry_after" in details:
                response.headers["Retry-After"] = str(details["retry_after"])
            return response
    raise exc
