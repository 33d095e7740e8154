"""triage: the missing-information loop keeps its state in ``missing_info_requests`` instead of the
ticket's customer-facing ``custom_fields["awaiting_fields"]`` (existing entries move over)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_AWAITING = "awaiting_fields"  # the custom field the loop used to keep its state in

_tickets = sa.table("tickets", sa.column("id", _ID), sa.column("custom_fields", _JSON))
_events = sa.table(
    "ticket_events",
    sa.column("ticket_id", _ID),
    sa.column("kind", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_requests = sa.table(
    "missing_info_requests",
    sa.column("ticket_id", _ID),
    sa.column("fields", _JSON),
    sa.column("asks", sa.Integer()),
    sa.column("first_asked_at", sa.DateTime(timezone=True)),
    sa.column("last_asked_at", sa.DateTime(timezone=True)),
    sa.column("finished_at", sa.DateTime(timezone=True)),
    sa.column("outcome", sa.String()),
    sa.column("version", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "missing_info_requests",
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("first_asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_missing_info_requests_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missing_info_requests")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_missing_info_requests_ticket_id")),
    )
    connection = op.get_bind()
    now = datetime.now(UTC)
    for ticket_id, custom_fields in _tickets_awaiting(connection):
        awaiting = custom_fields.pop(_AWAITING)
        if isinstance(awaiting, dict):
            # When the bot asked is on the ticket's timeline.
            asked = connection.execute(
                sa.select(sa.func.min(_events.c.created_at), sa.func.max(_events.c.created_at)).where(
                    _events.c.ticket_id == ticket_id, _events.c.kind == "triage.info_requested"
                )
            ).one()
            connection.execute(
                _requests.insert().values(
                    ticket_id=ticket_id,
                    fields=[str(name) for name in awaiting.get("fields") or []],
                    asks=int(awaiting.get("asks") or 1),
                    first_asked_at=asked[0] or now,
                    last_asked_at=asked[1] or now,
                    finished_at=None,
                    outcome=None,
                    version=1,
                )
            )
        connection.execute(
            _tickets.update().where(_tickets.c.id == ticket_id).values(custom_fields=custom_fields)
        )


def downgrade() -> None:
    connection = op.get_bind()
    open_requests = connection.execute(
        sa.select(_requests.c.ticket_id, _requests.c.fields, _requests.c.asks).where(
            _requests.c.finished_at.is_(None)
        )
    ).all()
    for request in open_requests:
        stored: dict[str, Any] | None = connection.execute(
            sa.select(_tickets.c.custom_fields).where(_tickets.c.id == request.ticket_id)
        ).scalar_one()
        awaiting = {"fields": request.fields or [], "asks": request.asks}
        connection.execute(
            _tickets.update()
            .where(_tickets.c.id == request.ticket_id)
            .values(custom_fields={**(stored or {}), _AWAITING: awaiting})
        )
    op.drop_table("missing_info_requests")


def _tickets_awaiting(connection: sa.Connection) -> list[tuple[int, dict[str, Any]]]:
    # A text match narrows the scan on both SQLite (JSON as text) and PostgreSQL (JSONB cast to text);
    # the key itself is checked on the decoded value.
    rows = connection.execute(
        sa.select(_tickets.c.id, _tickets.c.custom_fields).where(
            sa.cast(_tickets.c.custom_fields, sa.Text).like(f"%{_AWAITING}%")
        )
    )
    return [
        (int(row.id), dict(row.custom_fields))
        for row in rows
        if isinstance(row.custom_fields, dict) and _AWAITING in row.custom_fields
    ]
