"""jobs: a task's own attempt limit applies (``max_attempts`` NULL = the task's, else the setting), and
expired leases are counted apart from failed runs (``expired_leases``)

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("max_attempts", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("expired_leases", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.execute("UPDATE jobs SET max_attempts = 8 WHERE max_attempts IS NULL")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("expired_leases")
        batch.alter_column("max_attempts", existing_type=sa.Integer(), nullable=False)
