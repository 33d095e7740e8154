"""Opaque keyset cursors: stable under inserts, O(page) on any table size."""

from __future__ import annotations

import base64
import json
from typing import Any

from relaydesk.kit.errors import BadRequestError

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError(
            "The cursor is not valid; pass the next_cursor value from the previous page unchanged."
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError("The cursor is not valid; pass next_cursor from the previous page.")
    return value
