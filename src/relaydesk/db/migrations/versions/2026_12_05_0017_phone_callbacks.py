"""channels: the phone callback workflow moves out of the ticket's ``custom_fields["callback"]`` into its
own table ``phone_callbacks`` (existing callbacks are moved, and removed from ``custom_fields``)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STATUSES = ("requested", "in_progress", "completed")

tickets = sa.table(
    "tickets",
    sa.column("id", ID),
    sa.column("custom_fields", JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
ticket_events = sa.table(
    "ticket_events",
    sa.column("ticket_id", ID),
    sa.column("kind", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
phone_callbacks = sa.table(
    "phone_callbacks",
    sa.column("ticket_id", ID),
    sa.column("phone", sa.String()),
    sa.column("status", sa.String()),
    sa.column("preferred_at", sa.DateTime(timezone=True)),
    sa.column("requested_at", sa.DateTime(timezone=True)),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("finished_at", sa.DateTime(timezone=True)),
    sa.column("attempts", sa.Integer()),
)


def _utc(value: Any) -> datetime | None:
    """An ISO time as the old JSON kept it (naive read as UTC), or a datetime read back; else None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: Any) -> str | None:
    moment = _utc(value)
    return moment.isoformat() if moment is not None else None


def upgrade() -> None:
    op.create_table(
        "phone_callbacks",
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column(
            "status", sa.Enum(*STATUSES, name="callbackstatus", native_enum=False, length=32), nullable=False
        ),
        sa.Column("preferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_phone_callbacks_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_phone_callbacks")),
    )
    op.create_index("ix_phone_callbacks_status", "phone_callbacks", ["status"], unique=False)
    _move_callbacks_out_of_custom_fields()


def _call_times(connection: sa.Connection, ticket_id: int, kind: str) -> list[datetime]:
    rows: Sequence[Any] = (
        connection.execute(
            sa.select(ticket_events.c.created_at)
            .where(ticket_events.c.ticket_id == ticket_id, ticket_events.c.kind == kind)
            .order_by(ticket_events.c.created_at)
        )
        .scalars()
        .all()
    )
    return [moment for moment in (_utc(row) for row in rows) if moment is not None]


def _move_callbacks_out_of_custom_fields() -> None:
    connection = op.get_bind()
    # Few tickets ever asked for a callback; reading custom_fields in Python stays portable (no JSON SQL).
    rows: list[tuple[int, Any, Any]] = [
        (int(row[0]), row[1], row[2])
        for row in connection.execute(sa.select(tickets.c.id, tickets.c.custom_fields, tickets.c.created_at))
    ]
    for ticket_id, custom_fields, created_at in rows:
        if not isinstance(custom_fields, dict) or "callback" not in custom_fields:
            continue
        callback = custom_fields["callback"]
        if isinstance(callback, dict):
            status = callback.get("status")
            started = _call_times(connection, ticket_id, "call.started")
            ended = _call_times(connection, ticket_id, "call.ended")
            connection.execute(
                phone_callbacks.insert().values(
                    ticket_id=ticket_id,
                    phone=str(callback.get("phone") or "")[:32],
                    status=status if status in STATUSES else "requested",
                    preferred_at=_utc(callback.get("preferred_at")),
                    requested_at=_utc(callback.get("requested_at")) or _utc(created_at),
                    started_at=started[-1] if started else None,
                    finished_at=ended[-1] if ended and status == "completed" else None,
                    attempts=len(started),
                )
            )
        rest = {key: value for key, value in custom_fields.items() if key != "callback"}
        connection.execute(tickets.update().where(tickets.c.id == ticket_id).values(custom_fields=rest))


def downgrade() -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(phone_callbacks)).mappings().all():
        custom_fields: Any = connection.execute(
            sa.select(tickets.c.custom_fields).where(tickets.c.id == row["ticket_id"])
        ).scalar_one()
        callback = {
            "phone": row["phone"],
            "preferred_at": _iso(row["preferred_at"]),
            "status": row["status"],
            "requested_at": _iso(row["requested_at"]),
        }
        connection.execute(
            tickets.update()
            .where(tickets.c.id == row["ticket_id"])
            .values(custom_fields={**(custom_fields or {}), "callback": callback})
        )
    op.drop_index("ix_phone_callbacks_status", table_name="phone_callbacks")
    op.drop_table("phone_callbacks")
