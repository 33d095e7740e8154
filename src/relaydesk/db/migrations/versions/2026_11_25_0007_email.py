"""email transports: receipts per inbound Message-ID and IMAP mailbox state

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-25 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "email_receipts",
        sa.Column("receipt_key", sa.String(length=500), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("accepted", "note", "quarantined", name="receiptoutcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", _ID, nullable=True),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("quarantine_id", _ID, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_email_receipts_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["quarantine_id"],
            ["quarantined_inputs.id"],
            name=op.f("fk_email_receipts_quarantine_id_quarantined_inputs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_email_receipts_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_receipts")),
        sa.UniqueConstraint("receipt_key", name=op.f("uq_email_receipts_receipt_key")),
    )
    op.create_table(
        "email_mailbox_states",
        sa.Column("mailbox", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("pending_uids", _JSON, nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_mailbox_states")),
        sa.UniqueConstraint("mailbox", name=op.f("uq_email_mailbox_states_mailbox")),
    )


def downgrade() -> None:
    op.drop_table("email_mailbox_states")
    op.drop_table("email_receipts")
