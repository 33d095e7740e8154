"""sla: one clock per ticket and target (``sla_clocks``, due and at-risk moments indexed for the tick)
and how far SLA has followed each ticket's events (``sla_follows``)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TARGETS = ("first_response", "next_response", "periodic_update", "resolution", "acknowledgement")
STATES = ("running", "paused", "at_risk", "breached", "met", "cancelled")


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column(
            "target", sa.Enum(*TARGETS, name="slatarget", native_enum=False, length=32), nullable=False
        ),
        sa.Column("state", sa.Enum(*STATES, name="clockstate", native_enum=False, length=32), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("policy_name", sa.String(length=80), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("calendar", sa.String(length=80), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("at_risk_share", sa.Float(), nullable=False),
        sa.Column("elapsed_seconds", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at_risk_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at_risk_reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_clocks_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
        sa.UniqueConstraint("ticket_id", "target", name=op.f("uq_sla_clocks_ticket_id_target")),
    )
    # The tick reads only the rows whose moment has come: state first, then the moment.
    op.create_index("ix_sla_clocks_state_due_at", "sla_clocks", ["state", "due_at"])
    op.create_index("ix_sla_clocks_state_at_risk_at", "sla_clocks", ["state", "at_risk_at"])
    op.create_table(
        "sla_follows",
        sa.Column("ticket_id", ID, autoincrement=False, nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_follows_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_sla_follows")),
    )


def downgrade() -> None:
    op.drop_table("sla_follows")
    op.drop_index("ix_sla_clocks_state_at_risk_at", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_state_due_at", table_name="sla_clocks")
    op.drop_table("sla_clocks")
