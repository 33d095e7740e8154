"""Engines and sessions. Only request and job boundaries commit; services flush."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from relaydesk.settings import get_settings

__all__ = [
    "Database",
    "ReadOnlyWriteError",
    "ensure_sqlite_directory",
    "get_database",
    "set_database",
    "write_beside",
]

# The statements that need SQLite's write lock (SAVEPOINT and RELEASE do not take it by themselves).
_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class ReadOnlyWriteError(RuntimeError):
    """A write inside a read-only unit of work (a programming error, never a user's).

    On SQLite such a write has to upgrade a deferred read transaction to a write one, which SQLite
    refuses at once with "database is locked" whenever another connection wrote since it began (the
    in-process worker, any request): the busy timeout is never consulted for that upgrade. So it works
    alone and fails under load. Refused every time instead, so tests find it; write through
    ``write_beside(session)``, or use a writing unit of work.
    """


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN, so two of them never deadlock upgrading a read lock.
    # Read-only units of work (pollers, reports) begin deferred so they never hold up a writer.
    read_only = conn.get_execution_options().get("relaydesk_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _refuse_writes_when_read_only(
    conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    read_only = conn.get_execution_options().get("relaydesk_read_only", False)
    if read_only and statement.lstrip().upper().startswith(_WRITE_STATEMENTS):
        raise ReadOnlyWriteError(
            "a write inside a read-only unit of work; on SQLite it fails with 'database is locked' "
            "whenever another connection wrote meanwhile. Write through db.write_beside(session), "
            f"or open a writing transaction. Statement: {statement[:80]}"
        )


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates the file but not its folder (``var/`` on a fresh checkout)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """One engine plus its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        if url.startswith("sqlite"):
            ensure_sqlite_directory(url)
            engine_kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
            self.engine: Engine = create_engine(url, **engine_kwargs)
            event.listen(self.engine, "connect", _sqlite_pragmas)

            @event.listens_for(self.engine, "connect")
            def _no_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None

            event.listen(self.engine, "begin", _sqlite_begin)
            event.listen(self.engine, "before_cursor_execute", _refuse_writes_when_read_only)
        else:
            engine_kwargs.setdefault("pool_size", 10)
            engine_kwargs.setdefault("max_overflow", 20)
            engine_kwargs.setdefault("pool_pre_ping", True)
            self.engine = create_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self.engine.execution_options(relaydesk_read_only=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error.

        ``read_only`` is a promise not to write: on SQLite it skips the writer lock.
        """
        factory = self.read_sessionmaker if read_only else self.sessionmaker
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def write_beside(session: Session) -> Iterator[Session]:
    """A small write beside ``session``'s unit of work (a cache row found while reading).

    In a writing unit of work it is a savepoint of that transaction: it commits with the caller's and
    an error in it rolls back only the savepoint. In a read-only one on SQLite it is a short
    transaction of its own on another connection, which begins ``IMMEDIATE`` and so waits its turn
    behind the worker or any other writer (the busy timeout) instead of failing at once; the caller
    keeps reading its own snapshot. Use it only for writes that are correct whether or not the
    caller's unit of work commits (caches, idempotent upserts).
    """
    bind = session.get_bind()
    read_only = (
        isinstance(bind, Engine)
        and bind.dialect.name == "sqlite"
        and bool(bind.get_execution_options().get("relaydesk_read_only", False))
    )
    if not read_only:
        with session.begin_nested():
            yield session
        return
    writer = bind.execution_options(relaydesk_read_only=False)
    with Session(writer, expire_on_commit=False) as side, side.begin():
        yield side


_database: Database | None = None


def set_database(database: Database | None) -> None:
    global _database
    _database = database


def get_database() -> Database:
    """The process-wide database, created from settings on first use."""
    global _database
    if _database is None:
        _database = Database(get_settings().resolved_database_url)
    return _database
