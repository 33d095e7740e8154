"""CORS for the customer-facing routes that widgets call from other sites (chat, suggestions).

No cookies travel on these calls (credentials, where any, are headers), so echoing the caller's
origin grants nothing by itself; each domain still checks what the caller may do (the chat site's
allowed origins, for example). Errors carry the headers too: without them a browser hides even a 403
or 429 body from the widget, and the visitor could not be told what went wrong.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CorsRoute", "add_cors"]


def add_cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.append("Vary", "Origin")
    return response


class CorsRoute(APIRoute):
    """Every answer of the route, errors included, carries CORS headers."""

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
    """Render an error with the app's own handlers, here, so the CORS headers can be added to it."""
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
