"""Rejection raised for inbound mail that must be quarantined instead of becoming a ticket."""

from __future__ import annotations

from typing import Final

__all__ = [
    "REJECT_ATTACHMENT_TOO_LARGE",
    "REJECT_EMPTY",
    "REJECT_NESTING_TOO_DEEP",
    "REJECT_NOT_EMAIL",
    "REJECT_NO_SENDER",
    "REJECT_PARSE_ERROR",
    "REJECT_TOO_LARGE",
    "REJECT_TOO_MANY_ATTACHMENTS",
    "REJECT_TOO_MANY_PARTS",
    "EmailRejected",
]

REJECT_EMPTY: Final = "empty"
REJECT_TOO_LARGE: Final = "too_large"
REJECT_NOT_EMAIL: Final = "not_email"
REJECT_NO_SENDER: Final = "no_sender"
REJECT_TOO_MANY_ATTACHMENTS: Final = "too_many_attachments"
REJECT_ATTACHMENT_TOO_LARGE: Final = "attachment_too_large"
REJECT_TOO_MANY_PARTS: Final = "too_many_parts"
REJECT_NESTING_TOO_DEEP: Final = "nesting_too_deep"
# Last-resort code: a parser bug must still quarantine the message rather than lose it.
REJECT_PARSE_ERROR: Final = "parse_error"


class EmailRejected(Exception):
    """Inbound message that cannot be trusted or parsed; the caller quarantines its raw bytes."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message

    def __reduce__(self) -> tuple[type[EmailRejected], tuple[str, str]]:
        # Picklable so job workers can hand rejections across process boundaries.
        return (EmailRejected, (self.reason_code, self.message))
