"""Migration 0018 moves the missing-information loop's state out of the ticket's custom fields."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, update

from relaydesk.db import Database
from relaydesk.db.migrate import alembic_config, upgrade
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.models import Ticket
from relaydesk.triage.models import MissingInfoRequest
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database
from tests.factories import make_ticket

BOT = tickets.Actor(AuthorKind.BOT)
ASKED_FIRST = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ASKED_LAST = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, var_dir: Path) -> Iterator[str]:
    """An empty database of its own: this test walks the schema up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{var_dir / f'migrate-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name, url = _create_postgres_database()
        yield url
        _drop_postgres_database(name)


def test_awaiting_fields_move_to_missing_info_requests_and_back(fresh_url):
    # Tickets and events are made through the services on today's schema (they enqueue today's jobs),
    # then the schema goes back to 0017, where the loop kept its state in custom_fields.
    upgrade(fresh_url)
    database = Database(fresh_url)
    try:
        waiting = make_ticket(database, email="waiting@example.com")
        other = make_ticket(database, email="other@example.com")
        with database.transaction() as session:
            ticket = session.get(Ticket, waiting)
            assert ticket is not None
            for asks, asked_at in enumerate([ASKED_FIRST, ASKED_LAST], start=1):
                event = tickets.record_event(session, ticket, "triage.info_requested", BOT, {"asks": asks})
                event.created_at = asked_at
        database.dispose()
        command.downgrade(alembic_config(fresh_url), "0017")
        database = Database(fresh_url)
        with database.transaction() as session:
            # What the loop kept before 0018: its state beside the customer's own fields.
            session.execute(
                update(Ticket)
                .where(Ticket.id == waiting)
                .values(
                    custom_fields={
                        "member_level": "gold",
                        "awaiting_fields": {"fields": ["order_number"], "asks": 2},
                    }
                )
            )
            session.execute(
                update(Ticket).where(Ticket.id == other).values(custom_fields={"order_number": "3348917502"})
            )

        upgrade(fresh_url, "0018")
        with database.transaction() as session:
            fields = dict(session.execute(select(Ticket.id, Ticket.custom_fields)).tuples().all())
            [request] = session.scalars(select(MissingInfoRequest)).all()
        assert fields == {waiting: {"member_level": "gold"}, other: {"order_number": "3348917502"}}
        assert (request.ticket_id, request.fields, request.asks) == (waiting, ["order_number"], 2)
        assert (request.first_asked_at, request.last_asked_at) == (ASKED_FIRST, ASKED_LAST)
        assert request.finished_at is None

        command.downgrade(alembic_config(fresh_url), "0017")
        with database.transaction() as session:
            restored = session.scalar(select(Ticket.custom_fields).where(Ticket.id == waiting))
        assert restored == {
            "member_level": "gold",
            "awaiting_fields": {"fields": ["order_number"], "asks": 2},
        }
    finally:
        database.dispose()
