"""Opaque keyset cursors: stable under inserts, O(page) on any table size.

A cursor comes back from the client, so it is input from outside: anything that is not a cursor
this server issued (not base64, not a JSON object, no id, an id the database cannot hold) is a 400
that says what to do, never a 500 further down.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from relaydesk.kit.errors import BadRequestError
from relaydesk.kit.ids import is_record_id

__all__ = ["after_id_from_cursor", "decode_cursor", "encode_cursor"]

_INVALID = "The cursor is not valid; pass the next_cursor value from the previous page unchanged."


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise BadRequestError(_INVALID) from None
    if not isinstance(value, dict):
        raise BadRequestError(_INVALID)
    return value


def after_id_from_cursor(cursor: str | None) -> int | None:
    """The id a keyset cursor continues after (None for the first page)."""
    if not cursor:
        return None
    after_id = decode_cursor(cursor).get("id")
    if not is_record_id(after_id):
        raise BadRequestError(_INVALID)
    assert isinstance(after_id, int)
    return after_id
