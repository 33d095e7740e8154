"""triage: per-ticket triage results, imported training examples, agent corrections

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-25 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ticket_triage",
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("language_confidence", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("sentiment_label", sa.String(length=16), nullable=False),
        sa.Column("predictions", _JSON, nullable=False),
        sa.Column("needs_triage", _JSON, nullable=False),
        sa.Column("impact", _JSON, nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_reasons", _JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_triage_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_ticket_triage_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_triage")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_triage_ticket_id")),
    )
    with op.batch_alter_table("ticket_triage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_triage_created_at"), ["created_at"], unique=False)

    op.create_table(
        "triage_training_examples",
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_training_examples")),
        sa.UniqueConstraint(
            "head", "text_sha256", "label", name=op.f("uq_triage_training_examples_head_text_sha256_label")
        ),
    )
    with op.batch_alter_table("triage_training_examples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_training_examples_head"), ["head"], unique=False)

    op.create_table(
        "triage_corrections",
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("predicted_label", sa.String(length=120), nullable=True),
        sa.Column("corrected_label", sa.String(length=120), nullable=False),
        sa.Column("model_version", sa.String(length=120), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_triage_corrections_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_corrections")),
        sa.UniqueConstraint("event_id", name=op.f("uq_triage_corrections_event_id")),
    )
    with op.batch_alter_table("triage_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_corrections_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("triage_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_corrections_ticket_id"))
    op.drop_table("triage_corrections")
    with op.batch_alter_table("triage_training_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_training_examples_head"))
    op.drop_table("triage_training_examples")
    with op.batch_alter_table("ticket_triage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_triage_created_at"))
    op.drop_table("ticket_triage")
