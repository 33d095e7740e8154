"""Record ids from outside (paths, queries, bodies, cursors) are bounded to what the database holds.

Every primary key is a signed 64-bit integer on PostgreSQL and SQLite; an id past 2^63-1 used to reach
the driver and fail there (500 "integer out of range" / OverflowError). Typed as ``RecordId`` it is
refused at the edge with a 422 that names the field.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

__all__ = ["MAX_ID", "RecordId", "is_record_id"]

MAX_ID = 2**63 - 1

RecordId = Annotated[int, Interval(ge=1, le=MAX_ID)]


def is_record_id(value: object) -> bool:
    """For ids parsed by hand (a cursor, a webhook field): an int the database can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
