"""Database plumbing: declarative base, engine and sessions, migrations. Imports no domain."""

from relaydesk.db.base import Base, IdMixin, TimestampMixin
from relaydesk.db.engine import Database, ReadOnlyWriteError, get_database, set_database, write_beside
from relaydesk.db.types import JSONType, UTCDateTime, enum_column

__all__ = [
    "Base",
    "Database",
    "IdMixin",
    "JSONType",
    "ReadOnlyWriteError",
    "TimestampMixin",
    "UTCDateTime",
    "enum_column",
    "get_database",
    "set_database",
    "write_beside",
]
