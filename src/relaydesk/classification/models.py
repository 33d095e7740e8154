"""Tables of the classification domain: model versions per head and which one serves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.classification.enums import ModelState
from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["ClassifierHead", "ModelState", "ModelVersion"]


class ModelVersion(IdMixin, Base):
    """One trained classifier for a head ("category", "priority", ...), with its metrics and artifact."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("head", "version"),)

    head: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[ModelState] = mapped_column(enum_column(ModelState), default=ModelState.CANDIDATE)
    # Where the data came from ("file:train.csv", "tickets:resolved", ...), n and label counts.
    source: Mapped[str] = mapped_column(String(200))
    data_summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # accuracy, macro_f1, per_class, confused_pairs, ece, threshold, threshold_precision/coverage.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    abstain_label: Mapped[str | None] = mapped_column(String(100))
    training_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Folder under <var_dir>/models (relative) or absolute; holds meta.json and the weights.
    artifact_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    # Shadow runs: how many predictions were compared with the active version and how many agreed.
    shadow_predictions: Mapped[int] = mapped_column(BigInteger, default=0)
    shadow_agreements: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def name(self) -> str:
        return f"{self.head}-{self.version}"

    @property
    def shadow_agreement_rate(self) -> float | None:
        if not self.shadow_predictions:
            return None
        return self.shadow_agreements / self.shadow_predictions


class ClassifierHead(Base):
    """Which version serves a head and which runs in shadow: the one row predict() reads each call."""

    __tablename__ = "classifier_heads"

    head: Mapped[str] = mapped_column(String(64), primary_key=True)
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    shadow_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    # Retraining policy: how often the scheduled job retrains this head from its training source.
    retrain_every_hours: Mapped[int | None] = mapped_column(Integer)
    retrain_activate: Mapped[bool] = mapped_column(default=False)
    last_retrained_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
