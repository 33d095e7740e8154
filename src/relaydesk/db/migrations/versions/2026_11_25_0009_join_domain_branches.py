"""Join the domain branches (knowledge, deflection, classification, triage, email, chat) into one head.

Revision ID: 0009
Revises: 0003, 0004, 0005, 0006, 0007, 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | Sequence[str] | None = ("0003", "0004", "0005", "0006", "0007", "0008")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing to change: the branches touch different tables; this only gives the history one head.
    pass


def downgrade() -> None:
    pass
