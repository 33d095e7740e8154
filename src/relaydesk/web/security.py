"""Security headers on every response: pages, API, static files and errors alike.

The Content-Security-Policy runs scripts only from this origin (no inline script, no eval), so an
injected ``<script>`` or ``onclick`` does nothing; styles may be inline, because the chat widget's
shadow root, htmx's indicator rule and the demo shop style themselves that way. Nothing of ours is
meant to be framed (the chat widget is a script on the customer's page, not an iframe), so no site
may frame any page: ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` for older browsers.
HSTS is sent only in production, where the server is behind HTTPS. A route that needs another
policy (the API docs) sets its own ``Content-Security-Policy``; it is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        # 'self' covers the chat widget's WebSocket to this host (ws: and wss: of the same origin).
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Pure ASGI: adds the headers as the response starts, without buffering or re-reading bodies."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if hsts:
            self.headers["Strict-Transport-Security"] = _HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
