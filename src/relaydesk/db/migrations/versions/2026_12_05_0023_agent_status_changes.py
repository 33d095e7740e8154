"""agents: every change of an agent's presence is kept (from, to, when, and who or what made it:
the agent, an admin, auto-away)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("online", "away", "busy", "offline")
REASONS = ("self", "admin", "auto_away", "system")


def upgrade() -> None:
    op.create_table(
        "agent_status_changes",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(*STATUSES, name="agentstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "to_status", sa.Enum(*STATUSES, name="agentstatus", native_enum=False, length=32), nullable=False
        ),
        sa.Column(
            "reason",
            sa.Enum(*REASONS, name="statuschangereason", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_status_changes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_status_changes")),
    )
    op.create_index(
        "ix_agent_status_changes_agent_id_changed_at", "agent_status_changes", ["agent_id", "changed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_status_changes_agent_id_changed_at", table_name="agent_status_changes")
    op.drop_table("agent_status_changes")
