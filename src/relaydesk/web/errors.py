"""One error shape for every failure: ``{"error": {"code", "message", "details"?}}``.

A browser gets the same error as a page: a request that accepts HTML (and is not to ``/api/``) gets
``errors/page.html``, and an htmx request (``HX-Request``) gets the ``errors/_flash.html`` fragment,
which ``static/workspace/errors.js`` shows above the screen that asked. API clients keep the JSON.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from relaydesk.kit.errors import RelaydeskError
from relaydesk.web.templating import templates

__all__ = ["install_error_handlers"]

log = logging.getLogger("relaydesk.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


_TITLES = {
    400: "That request is not valid",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    409: "Someone changed this",
    422: "Please check what you entered",
    429: "Too many tries",
}


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return bool(request.headers.get("hx-request")) or "text/html" in request.headers.get("accept", "")


def _respond(request: Request, status: int, code: str, message: str, details: Any = None) -> Response:
    if not _wants_html(request):
        return _error(status, code, message, details)
    context = {
        "agent": None,
        "csrf_token": "",
        "status": status,
        "code": code,
        "title": _TITLES.get(status, "Something went wrong"),
        "message": message,
    }
    fragment = bool(request.headers.get("hx-request"))
    name = "errors/_flash.html" if fragment else "errors/page.html"
    return templates.TemplateResponse(request, name, context, status_code=status)


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def _strip_body(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return loc[1:] if loc[:1] == ("body",) else loc


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RelaydeskError)
    async def _relaydesk(request: Request, exc: RelaydeskError) -> Response:
        return _respond(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                # ("body", "customer", "kind") -> "customer.kind"; query and path keep their prefix.
                "field": ".".join(str(p) for p in _strip_body(tuple(err.get("loc", ())))),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details[:5])
        return _respond(request, 422, "validation_failed", f"The request is not valid: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found" and _wants_html(request):
            message = f"There is no page at {request.url.path}."
        return _respond(request, exc.status_code, code, message)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Response:
        return _respond(
            request, 409, "conflict", "Someone else changed this record at the same time; reload and retry."
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Races that a uniqueness check could not see (two creates at once) are conflicts, not crashes.
        log.info("integrity conflict: %s", exc.orig)
        return _respond(
            request,
            409,
            "conflict",
            "This conflicts with an existing record (a duplicate); reload and retry.",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.url.path)
        return _respond(
            request, 500, "internal_error", f"Something went wrong on our side (incident {incident})."
        )
