"""Request body limits, enforced on the byte stream before any route, authentication or parser runs.

A declared ``Content-Length`` over the limit is refused at once. A body without one (chunked) is
counted as the app reads it: the moment it passes the limit, the client gets the 413 and the app sees
the body end (a disconnect), so no route, form parser or upload spool ever holds more than its limit.
The limit is per route: one default for every request, larger ones for the few routes that take
files, all declared in one place (``relaydesk.app``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "RouteBodyLimit"]


@dataclass(frozen=True)
class RouteBodyLimit:
    """Bodies of requests whose path matches ``path`` (a regular expression, whole path) may be this big."""

    path: str
    max_bytes: int


class BodySizeLimit:
    """Pure ASGI (it must see ``receive`` itself: a BaseHTTPMiddleware cannot stop a body mid-stream)."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, routes: Sequence[RouteBodyLimit] = ()) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.routes = [(re.compile(route.path), route.max_bytes) for route in routes]

    def limit_for(self, path: str) -> int:
        for pattern, max_bytes in self.routes:
            if pattern.fullmatch(path):
                return max_bytes
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return

        received = 0
        response_started = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not response_started:
                        await _refuse(send, limit)
                    # The app sees the body end here, whatever it does with that (a parse error, a
                    # ClientDisconnect): what it answers is dropped, the 413 has gone already.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused and not response_started:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except ClientDisconnect:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"The request body is over the {limit}-byte limit for this address.",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
