"""Edge of the public deflection routes: the shared per-client guard (``web.public``) and CORS
preflight for widgets on other sites."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from relaydesk.web.cors import add_cors
from relaydesk.web.public import MAX_PUBLIC_BODY_BYTES, public_guard, reset_limiter

# public_guard and reset_limiter moved to web.public (the contact form in channels shares them); they
# stay importable from here for deflection's own routes.
__all__ = ["MAX_PUBLIC_BODY_BYTES", "preflight", "public_guard", "reset_limiter"]


def preflight(request: Request) -> Response:
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return add_cors(request, response)
