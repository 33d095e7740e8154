"""Migration 0017 moves phone callbacks out of the ticket's ``custom_fields`` into ``phone_callbacks``,
and its downgrade puts them back (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import JSON, Engine, create_engine, insert, select, table, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import column

from relaydesk.db.migrate import alembic_config
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database

JSON_VALUE = JSON().with_variant(JSONB(), "postgresql")
CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, at no revision yet: this test walks the migrations itself."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / f'migrate-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name, url = _create_postgres_database()
        yield url
        _drop_postgres_database(name)


def _legacy_ticket(engine: Engine, custom_fields: dict) -> int:
    now = CREATED
    with engine.begin() as conn:
        customer_id = conn.execute(
            text(
                "INSERT INTO customers (name, tier, custom_fields, created_at, updated_at) "
                "VALUES ('Ann', 'standard', '{}', :now, :now) RETURNING id"
            ),
            {"now": now},
        ).scalar_one()
        tickets = table(
            "tickets", *(column(name) for name in ("subject", "customer_id", "status", "priority")),
            *(column(name) for name in ("escalation_level", "channel", "reply_channel", "reopen_count")),
            *(column(name) for name in ("version", "created_at", "updated_at")),
            column("flags", JSON_VALUE), column("custom_fields", JSON_VALUE),
        )  # fmt: skip
        return int(
            conn.execute(
                insert(tickets)
                .values(
                    subject="Callback: broken boots",
                    customer_id=customer_id,
                    status="new",
                    priority="normal",
                    escalation_level="none",
                    channel="phone",
                    reply_channel="phone",
                    flags=[],
                    custom_fields=custom_fields,
                    reopen_count=0,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(column("id"))
            ).scalar_one()
        )


def _call_started(engine: Engine, ticket_id: int, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, kind, actor_kind, data, created_at) "
                "VALUES (:ticket_id, 'call.started', 'system', '{}', :at)"
            ),
            {"ticket_id": ticket_id, "at": at},
        )


def _custom_fields(engine: Engine, ticket_id: int) -> dict:
    tickets = table("tickets", column("id"), column("custom_fields", JSON_VALUE))
    with engine.connect() as conn:
        return conn.execute(select(tickets.c.custom_fields).where(tickets.c.id == ticket_id)).scalar_one()


def test_callbacks_move_to_their_own_table_and_back(empty_url):
    config = alembic_config(empty_url)
    command.upgrade(config, "0016")
    engine = create_engine(empty_url)
    try:
        waiting = _legacy_ticket(
            engine,
            {
                "order": "48213",
                "callback": {
                    "phone": "+14155550101",
                    "preferred_at": "2026-12-02T15:30:00",  # naive, as the old code kept it: UTC
                    "status": "requested",
                    "requested_at": "2026-12-01T09:00:00+00:00",
                },
            },
        )
        called = _legacy_ticket(
            engine,
            {"callback": {"phone": "+14155550102", "preferred_at": None, "status": "in_progress",
                          "requested_at": "2026-12-01T09:05:00+00:00"}},
        )  # fmt: skip
        _call_started(engine, called, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        untouched = _legacy_ticket(engine, {"order": "1"})

        command.upgrade(config, "0017")
        assert _custom_fields(engine, waiting) == {"order": "48213"}
        assert _custom_fields(engine, called) == {}
        assert _custom_fields(engine, untouched) == {"order": "1"}
        with engine.connect() as conn:
            rows = {
                row.ticket_id: row
                for row in conn.execute(text("SELECT * FROM phone_callbacks ORDER BY ticket_id")).all()
            }
        assert set(rows) == {waiting, called}
        assert rows[waiting].phone == "+14155550101" and rows[waiting].status == "requested"
        assert rows[waiting].attempts == 0 and rows[waiting].started_at is None
        assert _utc(rows[waiting].preferred_at) == datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
        assert rows[called].status == "in_progress" and rows[called].attempts == 1
        assert _utc(rows[called].started_at) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

        command.downgrade(config, "0016")
        restored = _custom_fields(engine, waiting)
        assert restored["order"] == "48213"
        assert restored["callback"] == {
            "phone": "+14155550101",
            "preferred_at": "2026-12-02T15:30:00+00:00",
            "status": "requested",
            "requested_at": "2026-12-01T09:00:00+00:00",
        }
        assert _custom_fields(engine, called)["callback"]["status"] == "in_progress"
        assert _custom_fields(engine, untouched) == {"order": "1"}
    finally:
        engine.dispose()


def _utc(value: datetime | str) -> datetime:
    """SQLite hands raw timestamps back as text; PostgreSQL as aware datetimes."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
