"""knowledge base: the other ways customers ask each article's question (``questions``)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("kb_articles", "kb_article_versions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("questions", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    for table in ("kb_articles", "kb_article_versions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("questions")
