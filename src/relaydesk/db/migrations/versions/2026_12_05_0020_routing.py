"""routing: offers (``routing_offers``, one open offer per ticket) and where each routed ticket stands
(``routing_states``: its queue and order key, or its assignee and reclaim time); an index for the
router's candidate query on agent skills

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OFFER_STATES = ("offered", "accepted", "declined", "expired", "cancelled")
QUEUES = ("live", "messaging", "triage", "callback")
CHANNELS = ("web_chat", "in_app", "email", "sms", "social", "phone", "api", "web_form", "internal")
OPEN = sa.text("state = 'offered'")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "routing_offers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("state", _enum(OFFER_STATES, "offerstate"), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_routing_offers_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_routing_offers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_offers")),
    )
    op.create_index("ix_routing_offers_ticket_id", "routing_offers", ["ticket_id"])
    op.create_index("ix_routing_offers_offered_at", "routing_offers", ["offered_at"])
    op.create_index("ix_routing_offers_agent_id_state", "routing_offers", ["agent_id", "state"])
    # One open offer per ticket, on both backends (partial unique index).
    op.create_index(
        "uq_routing_offers_open_ticket",
        "routing_offers",
        ["ticket_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

    op.create_table(
        "routing_states",
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("queue", _enum(QUEUES, "queuekind"), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("channel", _enum(CHANNELS, "channel"), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("skill", sa.String(length=80), nullable=True),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("tier_level", sa.Integer(), nullable=False),
        sa.Column("overflow_stage", sa.Integer(), nullable=False),
        sa.Column("overflow_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reclaim_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("excluded_agent_ids", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_routing_states_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_routing_states")),
    )
    op.create_index(
        "ix_routing_states_queue_order",
        "routing_states",
        ["queue", "waiting", "priority_rank", "vip", "due_at"],
    )
    op.create_index("ix_routing_states_overflow_due_at", "routing_states", ["overflow_due_at"])
    op.create_index("ix_routing_states_reclaim_due_at", "routing_states", ["reclaim_due_at"])
    # The router's candidate query: agents holding a skill at a level.
    op.create_index("ix_agent_skills_skill_level", "agent_skills", ["skill", "level"])


def downgrade() -> None:
    op.drop_index("ix_agent_skills_skill_level", table_name="agent_skills")
    op.drop_index("ix_routing_states_reclaim_due_at", table_name="routing_states")
    op.drop_index("ix_routing_states_overflow_due_at", table_name="routing_states")
    op.drop_index("ix_routing_states_queue_order", table_name="routing_states")
    op.drop_table("routing_states")
    op.drop_index("uq_routing_offers_open_ticket", table_name="routing_offers")
    op.drop_index("ix_routing_offers_agent_id_state", table_name="routing_offers")
    op.drop_index("ix_routing_offers_offered_at", table_name="routing_offers")
    op.drop_index("ix_routing_offers_ticket_id", table_name="routing_offers")
    op.drop_table("routing_offers")
