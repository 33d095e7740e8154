"""Writers on one SQLite file: a write that starts from a read-only unit of work waits its turn.

SQLite refuses at once ("database is locked") to turn a read transaction into a write one when another
connection wrote since it began; the busy timeout only applies to writers that begin as writers. These
tests run on a file database through the project's engine, with a second thread as the other writer
(the in-process worker, in ``relaydesk serve``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from relaydesk.db import Database, ReadOnlyWriteError, write_beside


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'writers.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)"))
    yield database
    database.dispose()


def _rows(database: Database) -> list[str]:
    with database.transaction(read_only=True) as session:
        return list(session.scalars(text("SELECT key FROM cache ORDER BY key")))


def _hold_write_lock(database: Database, seconds: float, started: threading.Event) -> None:
    with database.transaction() as session:  # BEGIN IMMEDIATE: holds the writer lock until commit
        session.execute(text("INSERT INTO cache VALUES ('worker', 'job done')"))
        started.set()
        time.sleep(seconds)


def test_a_write_beside_a_read_only_unit_of_work_waits_for_the_other_writer(sqlite_db):
    with sqlite_db.transaction(read_only=True) as session:
        assert session.scalar(text("SELECT count(*) FROM cache")) == 0  # the read snapshot starts here
        started = threading.Event()
        worker = threading.Thread(target=_hold_write_lock, args=(sqlite_db, 0.5, started))
        worker.start()
        started.wait(5)
        began = time.monotonic()
        with write_beside(session) as writer:
            writer.execute(text("INSERT INTO cache VALUES ('passage', 'vector')"))
        waited = time.monotonic() - began
        worker.join()
        # The caller still reads its own snapshot; the side write is committed already.
        assert session.scalar(text("SELECT count(*) FROM cache")) == 0
    assert _rows(sqlite_db) == ["passage", "worker"]
    assert waited >= 0.3  # it queued behind the worker instead of failing


def test_a_write_beside_after_another_writer_committed_succeeds(sqlite_db):
    # The case the demo's first start hit: the snapshot is stale, nobody holds the lock any more.
    with sqlite_db.transaction(read_only=True) as session:
        session.scalar(text("SELECT count(*) FROM cache"))
        with sqlite_db.transaction() as other:
            other.execute(text("INSERT INTO cache VALUES ('worker', 'job done')"))
        with write_beside(session) as writer:
            writer.execute(text("INSERT INTO cache VALUES ('passage', 'vector')"))
    assert _rows(sqlite_db) == ["passage", "worker"]


def test_a_write_inside_a_read_only_unit_of_work_is_refused_even_without_contention(sqlite_db):
    # Alone it would work, under load it fails: refused every time so that a test finds it.
    with pytest.raises(ReadOnlyWriteError, match="write_beside"):  # noqa: SIM117
        with sqlite_db.transaction(read_only=True) as session:
            session.execute(text("INSERT INTO cache VALUES ('passage', 'vector')"))
    assert _rows(sqlite_db) == []


def test_a_write_beside_a_writing_unit_of_work_commits_with_it_and_fails_alone(sqlite_db):
    with sqlite_db.transaction() as session:
        session.execute(text("INSERT INTO cache VALUES ('article', 'saved')"))
        with write_beside(session) as writer:
            assert writer is session  # a savepoint of the caller's transaction, not a second writer
            writer.execute(text("INSERT INTO cache VALUES ('passage', 'vector')"))
        with pytest.raises(Exception, match="UNIQUE"), write_beside(session) as writer:
            writer.execute(text("INSERT INTO cache VALUES ('passage', 'again')"))
    assert _rows(sqlite_db) == ["article", "passage"]
