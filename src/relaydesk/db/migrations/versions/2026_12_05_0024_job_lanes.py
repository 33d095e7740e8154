"""jobs: a lane per job (live, default, bulk), leased most urgent first, so chat replies and routing
never wait behind triage or model work

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Jobs written before lanes existed wait in the default lane, as every job did.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column(
                "lane",
                sa.Enum("live", "default", "bulk", name="joblane", native_enum=False, length=32),
                nullable=False,
                server_default="default",
            )
        )
    op.create_index("ix_jobs_state_lane_run_at", "jobs", ["state", "lane", "run_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_lane_run_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lane")
