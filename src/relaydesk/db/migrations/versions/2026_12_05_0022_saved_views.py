"""workspace: saved inbox views per agent (``saved_views``), and the indexes the inbox's queue and
flag filters need on ``tickets``

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_saved_views_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("agent_id", "name", name=op.f("uq_saved_views_agent_id_name")),
    )
    # The queue views (live, messaging, needs-triage) filter on the queue and the open statuses.
    op.create_index("ix_tickets_queue_status", "tickets", ["queue", "status"], unique=False)
    # Flag (tag) filters are JSONB containment on PostgreSQL, which a GIN index answers without a
    # scan; SQLite gets a plain index (unused by its json_each filter) so both schemas match the models.
    op.create_index("ix_tickets_flags", "tickets", ["flags"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_tickets_flags", table_name="tickets")
    op.drop_index("ix_tickets_queue_status", table_name="tickets")
    op.drop_table("saved_views")
