"""Every query of the classification domain: heads, their model versions, and which ones serve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from relaydesk.classification.enums import ModelState
from relaydesk.classification.models import ClassifierHead, ModelVersion

__all__ = ["ClassificationRepository", "ServingVersions"]


class ServingVersions(NamedTuple):
    """The ids and artifact paths of a head's active version and of its shadow (None when none runs)."""

    active_id: int
    active_path: str
    shadow_id: int | None
    shadow_path: str | None


class ClassificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- heads ----------------------------------------------------------------------------------

    def get_head(self, head: str, *, reload: bool = False) -> ClassifierHead | None:
        # ``reload``: re-read the row, so pointers another process moved are seen before they are changed.
        return self.session.get(ClassifierHead, head, populate_existing=reload)

    def lock_head(self, head: str) -> None:
        # PostgreSQL holds the row until commit; SQLite serialises writers anyway.
        self.session.execute(select(ClassifierHead).where(ClassifierHead.head == head).with_for_update())

    def heads(self) -> Sequence[ClassifierHead]:
        return self.session.scalars(select(ClassifierHead)).all()

    def scheduled_heads(self) -> Sequence[ClassifierHead]:
        """Heads with a retraining interval set."""
        return self.session.scalars(
            select(ClassifierHead).where(ClassifierHead.retrain_every_hours.is_not(None))
        ).all()

    def serving(self, head: str) -> ServingVersions | None:
        """The versions ``predict`` runs for a head, in one query; None when it has no active version."""
        active, shadow = aliased(ModelVersion), aliased(ModelVersion)
        row = self.session.execute(
            select(active.id, active.artifact_path, shadow.id, shadow.artifact_path)
            .select_from(ClassifierHead)
            .join(active, active.id == ClassifierHead.active_version_id)
            .outerjoin(shadow, shadow.id == ClassifierHead.shadow_version_id)
            .where(ClassifierHead.head == head)
        ).first()
        return None if row is None else ServingVersions(*row)

    # --- versions -------------------------------------------------------------------------------

    def get_version(self, version_id: int) -> ModelVersion | None:
        return self.session.get(ModelVersion, version_id)

    def version(self, head: str, number: int) -> ModelVersion | None:
        return self.session.scalar(
            select(ModelVersion).where(ModelVersion.head == head, ModelVersion.version == number)
        )

    def versions(self, head: str | None = None) -> Sequence[ModelVersion]:
        """Newest first within each head, heads in name order."""
        query = select(ModelVersion).order_by(ModelVersion.head, ModelVersion.version.desc())
        if head is not None:
            query = query.where(ModelVersion.head == head)
        return self.session.scalars(query).all()

    def next_version_number(self, head: str) -> int:
        latest = self.session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.head == head))
        return (latest or 0) + 1

    def last_retired(self, head: str, *, other_than: int) -> ModelVersion | None:
        """The most recently activated retired version of a head (what a rollback returns to)."""
        return self.session.scalar(
            select(ModelVersion)
            .where(
                ModelVersion.head == head,
                ModelVersion.state == ModelState.RETIRED,
                ModelVersion.id != other_than,
            )
            .order_by(ModelVersion.activated_at.desc(), ModelVersion.version.desc())
            .limit(1)
        )

    def with_fingerprint(self, head: str, fingerprint: str) -> ModelVersion | None:
        """A version of the head trained on data with this fingerprint (``data_summary.fingerprint``)."""
        # The summary is JSON; comparing in Python keeps SQLite and PostgreSQL identical.
        for row in self.session.scalars(select(ModelVersion).where(ModelVersion.head == head)):
            if (row.data_summary or {}).get("fingerprint") == fingerprint:
                return row
        return None

    def count_shadow_prediction(self, version_id: int, *, agreed: bool) -> None:
        # An atomic increment: concurrent workers never lose each other's counts.
        self.session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == version_id)
            .values(
                shadow_predictions=ModelVersion.shadow_predictions + 1,
                shadow_agreements=ModelVersion.shadow_agreements + (1 if agreed else 0),
            )
            .execution_options(synchronize_session=False)
        )
