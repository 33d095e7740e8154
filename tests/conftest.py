"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server.

PostgreSQL comes from RELAYDESK_TEST_POSTGRES_URL (default: the local server, database "test");
each pytest process makes its own database there and drops it at the end. Set
RELAYDESK_TEST_BACKENDS=sqlite to run only SQLite while iterating locally; scripts/test runs both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relaydesk.db import Database, set_database
from relaydesk.db.migrate import upgrade
from relaydesk.jobs import discover_tasks
from relaydesk.kit.time import ManualClock, use_clock
from relaydesk.settings import reset_settings_cache

# live_server, browser and page: available to every test folder.
pytest_plugins = ["tests.browser_fixtures"]

BACKENDS = [b.strip() for b in os.environ.get("RELAYDESK_TEST_BACKENDS", "sqlite,postgresql").split(",")]
POSTGRES_URL = os.environ.get(
    "RELAYDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _create_postgres_database() -> tuple[str, str]:
    name = f"relaydesk_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session", autouse=True)
def _test_settings(var_dir: Path) -> Iterator[None]:
    os.environ["RELAYDESK_ENV"] = "test"
    os.environ["RELAYDESK_VAR_DIR"] = str(var_dir)
    os.environ["RELAYDESK_SECRET_KEY"] = TEST_SECRET
    os.environ.setdefault("RELAYDESK_JOB_POLL_SECONDS", "0.05")
    # Test runs share one Redis database: each run (and the servers it starts) gets its own channels.
    os.environ.setdefault("RELAYDESK_REDIS_CHANNEL_PREFIX", f"relaydesk-test-{uuid.uuid4().hex[:8]}:")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, var_dir: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        yield url
    elif request.param == "postgresql":
        name, url = _create_postgres_database()
        upgrade(url)
        yield url
        _drop_postgres_database(name)
    else:
        raise ValueError(f"unknown backend {request.param!r} in RELAYDESK_TEST_BACKENDS")


@pytest.fixture(scope="session")
def _session_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def database(_session_database: Database, database_url: str) -> Iterator[Database]:
    """A clean database for one test (all rows removed, schema kept)."""
    from relaydesk.models import Base

    os.environ["RELAYDESK_DATABASE_URL"] = database_url
    reset_settings_cache()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with _session_database.engine.begin() as conn:
        if _session_database.is_sqlite:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
        else:
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
    set_database(_session_database)
    yield _session_database
    set_database(None)
    os.environ.pop("RELAYDESK_DATABASE_URL", None)
    reset_settings_cache()


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    """The real app over ASGI, against the test database."""
    from relaydesk.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """Controlled time for the process (services, jobs, table defaults): ``clock.advance(minutes=5)``."""
    with use_clock(ManualClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))) as manual:
        yield manual


# The shipped policy folder holds kinds of several domains (triage, routing, escalation's phrase rules);
# each registers its kind when its module loads. Every process registers them all through
# discover_tasks (app, worker, `relaydesk policy check`); so do the tests, before any test module loads
# the folder (tests/triage/test_priority.py does at import).
discover_tasks()
