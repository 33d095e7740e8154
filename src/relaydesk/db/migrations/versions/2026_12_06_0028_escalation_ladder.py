"""escalation ladder: every move of a ticket on its escalation path (``escalations``: who, from, to,
reason, handoff note, policy version, and the acknowledgement it awaits, at most one per ticket), and the
least role a ticket's level needs when routing offers it (``routing_states.min_role``)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOVES = ("up", "sideways", "down")
LEVELS = ("frontline", "tier2", "team_lead", "expert", "manager", "legal")
AUTHORS = ("customer", "agent", "bot", "system")
ACK_STATES = ("awaiting", "acknowledged", "superseded", "not_needed")
ROLES = ("agent", "lead", "manager", "admin")
AWAITING = sa.text("ack_state = 'awaiting'")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("move", _enum(MOVES, "escalationmove"), nullable=False),
        sa.Column("path", sa.String(length=80), nullable=False),
        sa.Column("from_level", _enum(LEVELS, "escalationlevel"), nullable=False),
        sa.Column("to_level", _enum(LEVELS, "escalationlevel"), nullable=False),
        sa.Column("from_team_id", ID, nullable=True),
        sa.Column("to_team_id", ID, nullable=True),
        sa.Column("from_assignee_id", ID, nullable=True),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor_kind", _enum(AUTHORS, "authorkind"), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("ack_state", _enum(ACK_STATES, "ackstate"), nullable=False),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalations_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["from_team_id"],
            ["teams.id"],
            name=op.f("fk_escalations_from_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_team_id"], ["teams.id"], name=op.f("fk_escalations_to_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["from_assignee_id"],
            ["agents.id"],
            name=op.f("fk_escalations_from_assignee_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["agents.id"],
            name=op.f("fk_escalations_acknowledged_by_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index("ix_escalations_ticket_id_id", "escalations", ["ticket_id", "id"])
    # At most one escalation of a ticket awaits its pickup, on both backends (partial unique index).
    op.create_index(
        "uq_escalations_awaiting_ticket",
        "escalations",
        ["ticket_id"],
        unique=True,
        sqlite_where=AWAITING,
        postgresql_where=AWAITING,
    )
    with op.batch_alter_table("routing_states") as batch:
        batch.add_column(sa.Column("min_role", _enum(ROLES, "role"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routing_states") as batch:
        batch.drop_column("min_role")
    op.drop_index("uq_escalations_awaiting_ticket", table_name="escalations")
    op.drop_index("ix_escalations_ticket_id_id", table_name="escalations")
    op.drop_table("escalations")
