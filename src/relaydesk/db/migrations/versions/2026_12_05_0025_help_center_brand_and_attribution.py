"""help center: a chat site's brand (name, logo, colours, link back to the shop) shown on the help
center, and an article's attribution (where its text came from) kept as metadata, not in its body

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sites") as batch:
        batch.add_column(sa.Column("brand_name", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("logo_url", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("brand_color", sa.String(7), nullable=False, server_default=""))
        batch.add_column(sa.Column("accent_color", sa.String(7), nullable=False, server_default=""))
        batch.add_column(sa.Column("shop_url", sa.String(1000), nullable=False, server_default=""))
    with op.batch_alter_table("kb_articles") as batch:
        batch.add_column(sa.Column("attribution", sa.String(500), nullable=False, server_default=""))
    with op.batch_alter_table("kb_article_versions") as batch:
        batch.add_column(sa.Column("attribution", sa.String(500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("kb_article_versions") as batch:
        batch.drop_column("attribution")
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_column("attribution")
    with op.batch_alter_table("chat_sites") as batch:
        batch.drop_column("shop_url")
        batch.drop_column("accent_color")
        batch.drop_column("brand_color")
        batch.drop_column("logo_url")
        batch.drop_column("brand_name")
