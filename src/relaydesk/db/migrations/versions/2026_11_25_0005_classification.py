"""classification: model versions and classifier heads

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "candidate",
                "active",
                "shadow",
                "retired",
                "rolled_back",
                name="modelstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("data_summary", _JSON, nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        sa.Column("abstain_label", sa.String(length=100), nullable=True),
        sa.Column("training_seconds", sa.Float(), nullable=False),
        sa.Column("artifact_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shadow_predictions", sa.BigInteger(), nullable=False),
        sa.Column("shadow_agreements", sa.BigInteger(), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("head", "version", name=op.f("uq_model_versions_head_version")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_head"), ["head"], unique=False)

    op.create_table(
        "classifier_heads",
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("active_version_id", _ID, nullable=True),
        sa.Column("shadow_version_id", _ID, nullable=True),
        sa.Column("retrain_every_hours", sa.Integer(), nullable=True),
        sa.Column("retrain_activate", sa.Boolean(), nullable=False),
        sa.Column("last_retrained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["active_version_id"],
            ["model_versions.id"],
            name=op.f("fk_classifier_heads_active_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shadow_version_id"],
            ["model_versions.id"],
            name=op.f("fk_classifier_heads_shadow_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("head", name=op.f("pk_classifier_heads")),
    )


def downgrade() -> None:
    op.drop_table("classifier_heads")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_head"))
    op.drop_table("model_versions")
