"""deflection sessions, queries and suggested articles

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25 08:20:00

article_id is a plain indexed integer on purpose: no foreign key to the knowledge tables (another
branch), and deflection history survives an article's deletion.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHANNELS = (
    "web_chat",
    "in_app",
    "email",
    "sms",
    "social",
    "phone",
    "api",
    "web_form",
    "internal",
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "deflection_sessions",
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("channel", _enum("channel", *_CHANNELS), nullable=False),
        sa.Column(
            "source", _enum("sessionsource", "public_api", "contact_form", "email_ack", "bot"), nullable=False
        ),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("visitor_id", sa.String(length=200), nullable=True),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("ticket_id", _ID, nullable=True),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column(
            "outcome",
            _enum("sessionoutcome", "pending", "deflected_confirmed", "deflected_no_ticket", "escalated"),
            nullable=False,
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_deflection_sessions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_deflection_sessions_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_sessions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_deflection_sessions_public_id")),
    )
    with op.batch_alter_table("deflection_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_deflection_sessions_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_deflection_sessions_outcome_created_at", ["outcome", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deflection_sessions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deflection_sessions_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deflection_sessions_visitor_id"), ["visitor_id"], unique=False)

    op.create_table(
        "deflection_queries",
        sa.Column("session_id", _ID, nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["deflection_sessions.id"],
            name=op.f("fk_deflection_queries_session_id_deflection_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_queries")),
    )
    with op.batch_alter_table("deflection_queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deflection_queries_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deflection_queries_session_id"), ["session_id"], unique=False)

    op.create_table(
        "deflection_articles",
        sa.Column("session_id", _ID, nullable=False),
        sa.Column("query_id", _ID, nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("displayed", sa.Boolean(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback", _enum("articlefeedback", "solved", "not_helpful"), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["deflection_queries.id"],
            name=op.f("fk_deflection_articles_query_id_deflection_queries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["deflection_sessions.id"],
            name=op.f("fk_deflection_articles_session_id_deflection_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_articles")),
        sa.UniqueConstraint(
            "session_id", "article_id", name=op.f("uq_deflection_articles_session_id_article_id")
        ),
    )
    with op.batch_alter_table("deflection_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deflection_articles_article_id"), ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_table("deflection_articles")
    op.drop_table("deflection_queries")
    op.drop_table("deflection_sessions")
