"""One error shape for every failure: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from relaydesk.kit.errors import RelaydeskError

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


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def _strip_body(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return loc[1:] if loc[:1] == ("body",) else loc


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RelaydeskError)
    async def _relaydesk(request: Request, exc: RelaydeskError) -> JSONResponse:
        return _error(exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                # ("body", "customer", "kind") -> "customer.kind"; query and path keep their prefix.
                "field": ".".join(str(p) for p in _strip_body(tuple(err.get("loc", ())))),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details[:5])
        return _error(422, "validation_failed", f"The request is not valid: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return _error(409, "conflict", "Someone else changed this record at the same time; reload and retry.")

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Races that a uniqueness check could not see (two creates at once) are conflicts, not crashes.
        log.info("integrity conflict: %s", exc.orig)
        return _error(
            409, "conflict", "This conflicts with an existing record (a duplicate); reload and retry."
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.url.path)
        return _error(500, "internal_error", f"Something went wrong on our side (incident {incident}).")
