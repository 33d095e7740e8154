"""The error tree every part of Relaydesk raises; one handler renders it.

RelaydeskError (500)
├── BadRequestError (400)
├── NotAuthenticatedError (401)
├── PermissionDeniedError (403)
├── NotFoundError (404)
├── ConflictError (409)
│   └── domain conflicts, e.g. IllegalStatusTransitionError
├── PayloadTooLargeError (413)
├── ValidationFailedError (422)
└── RateLimitedError (429)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadRequestError",
    "ConflictError",
    "NotAuthenticatedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RelaydeskError",
    "ValidationFailedError",
]


class RelaydeskError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequestError(RelaydeskError):
    status_code = 400
    code = "bad_request"


class NotAuthenticatedError(RelaydeskError):
    status_code = 401
    code = "not_authenticated"


class PermissionDeniedError(RelaydeskError):
    status_code = 403
    code = "permission_denied"


class NotFoundError(RelaydeskError):
    status_code = 404
    code = "not_found"


class ConflictError(RelaydeskError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(RelaydeskError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailedError(RelaydeskError):
    status_code = 422
    code = "validation_failed"


class RateLimitedError(RelaydeskError):
    status_code = 429
    code = "rate_limited"
