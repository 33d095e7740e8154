"""Edge helpers of the public chat API: credentials from a request, CORS, errors readable cross-origin."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from relaydesk.channels.chat.service import Credentials
from relaydesk.settings import get_settings

__all__ = ["CORS_HEADERS", "ChatRoute", "client_address", "credentials_from", "own_origins"]

SITE_HEADER = "X-Relaydesk-Site-Key"
CHANNEL_HEADER = "X-Relaydesk-Channel"
TOKEN_HEADER = "X-Relaydesk-Visitor-Token"
USER_ID_HEADER = "X-Relaydesk-User-Id"
USER_HASH_HEADER = "X-Relaydesk-User-Hash"
CORS_HEADERS = ", ".join(
    ["Content-Type", SITE_HEADER, CHANNEL_HEADER, TOKEN_HEADER, USER_ID_HEADER, USER_HASH_HEADER]
)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}".lower()


def own_origins(connection: HTTPConnection) -> tuple[str, ...]:
    """Relaydesk's own origins: pages it serves itself (the demo shop) may always use the widget."""
    return (_origin_of(str(connection.base_url)), _origin_of(get_settings().base_url))


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def credentials_from(connection: HTTPConnection) -> Credentials:
    """Headers for REST calls; query parameters where a client cannot set headers (WebSocket)."""
    headers, query = connection.headers, connection.query_params

    def pick(header: str, param: str) -> str | None:
        value = headers.get(header) or query.get(param)
        return value[:500] if value else None

    return Credentials(
        site_key=pick(SITE_HEADER, "site_key"),
        channel=pick(CHANNEL_HEADER, "channel"),
        visitor_token=pick(TOKEN_HEADER, "visitor_token"),
        user_id=pick(USER_ID_HEADER, "user_id"),
        user_hash=pick(USER_HASH_HEADER, "user_hash"),
        origin=headers.get("origin"),
        own_origins=own_origins(connection),
    )


def add_cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin")
    if origin:
        # No cookies travel on these calls (the visitor token is a header), so echoing the origin
        # grants nothing by itself: the site's allowed origins are checked on every call.
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.append("Vary", "Origin")
    return response


class ChatRoute(APIRoute):
    """Every answer of the public chat API, errors included, carries CORS headers.

    The widget runs on the customer's site, another origin: without the header a browser hides even
    a 403 or 429 body from it, and the visitor could not be told what went wrong.
    """

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
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            result = handler(request, exc)
            response: Response = await result if inspect.isawaitable(result) else result
            retry = getattr(exc, "details", None)
            if isinstance(retry, dict) and "retry_after" in retry:
                response.headers["Retry-After"] = str(retry["retry_after"])
            return response
    raise exc
