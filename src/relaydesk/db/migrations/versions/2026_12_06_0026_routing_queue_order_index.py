"""routing: the queue index in the queue's own order (priority and VIP descending, then due time and
ticket id), so the queue read is an index walk that stops at its LIMIT; an index on each agent's
assignments, read when ranking agents by how long they have been idle; queued languages lower-cased

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The queue read compares routing_states.language with agents' (lower-case) languages directly.
    op.execute("UPDATE routing_states SET language = lower(language) WHERE language <> lower(language)")
    op.drop_index("ix_routing_states_queue_order", table_name="routing_states")
    op.create_index(
        "ix_routing_states_queue_order",
        "routing_states",
        ["queue", "waiting", sa.desc("priority_rank"), sa.desc("vip"), "due_at", "ticket_id"],
        unique=False,
    )
    op.create_index(
        "ix_routing_states_assignee_id_assigned_at",
        "routing_states",
        ["assignee_id", "assigned_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_routing_states_assignee_id_assigned_at", table_name="routing_states")
    op.drop_index("ix_routing_states_queue_order", table_name="routing_states")
    op.create_index(
        "ix_routing_states_queue_order",
        "routing_states",
        ["queue", "waiting", "priority_rank", "vip", "due_at"],
        unique=False,
    )
