"""Classification service: predict with the active model of a head, train and register versions, promote.

The interface other domains use (triage builds on it):

- ``predict(session, head, text)`` → ``Prediction`` (or None when the head has no active model). Each
  call reads the head's row (one primary-key query) so a promotion made by another process is picked up
  at once; the model itself is loaded lazily and cached per process by version id.
- ``train_version(session, head, texts, labels, source=…)`` trains, stores the artifact under
  ``<var_dir>/models/`` and adds a version row (a candidate unless ``activate=True``).
- ``register_version`` adds a version from a model folder made by ``relaydesk model train``.
- ``activate`` / ``rollback`` / ``set_shadow`` move versions in and out of service.
- ``register_training_source(head, fn)``: a function returning (texts, labels) that scheduled
  retraining (``tasks.py``) uses for the head.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relaydesk.classification.classifier import (
    TextClassifier,
    TrainingDataError,
    TrainingOptions,
    embed_texts,
    load_classifier,
    train,
)
from relaydesk.classification.enums import ModelState
from relaydesk.classification.models import ClassifierHead, ModelVersion
from relaydesk.classification.repository import ClassificationRepository
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings

__all__ = [
    "HeadHasNoModelError",
    "ModelLoadError",
    "Prediction",
    "TrainingOptions",
    "TrainingSource",
    "activate",
    "clear_model_cache",
    "get_head",
    "get_version",
    "heads",
    "list_versions",
    "mark_retrained",
    "models_dir",
    "predict",
    "register_training_source",
    "register_version",
    "rollback",
    "scheduled_heads",
    "set_retraining",
    "set_shadow",
    "train_version",
    "training_sources",
    "unregister_training_source",
    "version_summary",
    "version_trained_on",
]

MAX_TEXT_CHARS = 20_000  # longer texts are cut: the tail of a long email rarely changes its class


class HeadHasNoModelError(NotFoundError):
    """A head has no version (or no earlier one to roll back to)."""


class ModelLoadError(ConflictError):
    """A version's artifact folder is missing or unreadable."""


@dataclass(frozen=True)
class Prediction:
    head: str  # "category", "priority", "team", ...
    label: str | None  # None when abstained below the head's threshold (the abstain label if it has one)
    confidence: float  # calibrated probability of the top label
    abstained: bool
    model_version: str  # "category-3"
    top: list[tuple[str, float]]  # top-3 labels with probabilities
    shadow: Prediction | None = None  # the shadow candidate's prediction, when one runs


# -- model cache -------------------------------------------------------------------------------------

# Keyed by (version id, artifact path): the path holds a random folder name, so a reused id (a restored
# or re-created database) can never serve a stale model.
_cache: dict[tuple[int, str], tuple[str, TextClassifier]] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def clear_model_cache() -> None:
    with _cache_lock:
        _cache.clear()


def models_dir() -> Path:
    return get_settings().var_dir / "models"


def _artifact_folder(row: ModelVersion) -> Path:
    path = Path(row.artifact_path)
    return path if path.is_absolute() else models_dir() / path


def _load(session: Session, version_id: int, artifact_path: str) -> tuple[str, TextClassifier]:
    key = (version_id, artifact_path)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    row = ClassificationRepository(session).get_version(version_id)
    if row is None:
        raise HeadHasNoModelError(f"model version id {version_id} does not exist")
    try:
        model = load_classifier(_artifact_folder(row))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load {row.name}: {exc}") from exc
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (row.name, model)
    return row.name, model


def _predict_with(
    session: Session,
    head: str,
    version_id: int,
    artifact_path: str,
    text: str,
    embedding: npt.NDArray[np.float32] | None,
) -> Prediction:
    name, model = _load(session, version_id, artifact_path)
    output = model.predict_one(text[:MAX_TEXT_CHARS], embedding)
    return Prediction(
        head=head,
        label=output.label,
        confidence=round(output.confidence, 6),
        abstained=output.abstained,
        model_version=name,
        top=output.top,
    )


def predict(
    session: Session, head: str, text: str, *, embedding: npt.NDArray[np.float32] | None = None
) -> Prediction | None:
    """Classify ``text`` with the head's active model; None when the head has no active model.

    ``embedding``: the text's row from ``relaydesk.ml.embeddings.embed([text])`` when the caller has it
    already (the models use that same bundled MiniLM encoding), so the text is not encoded twice.
    When a shadow version is set, it predicts too and its agreement with the active one is counted on
    its version row (in the caller's transaction).
    """
    repository = ClassificationRepository(session)
    # One query per prediction: a promotion made by any process is seen at the next call.
    pointers = repository.serving(head)
    if pointers is None:
        return None
    active_id, active_path, shadow_id, shadow_path = pointers
    if shadow_id is None or shadow_path is None or shadow_id == active_id:
        return _predict_with(session, head, active_id, active_path, text, embedding)
    models = [_load(session, *pointer)[1] for pointer in ((active_id, active_path), (shadow_id, shadow_path))]
    # Models with fine-tuned layers run their own (cached) encoder pass and read no embedding.
    if embedding is None and any(m.use_embeddings and m.top_layers is None for m in models):
        # The active and the shadow model share one encoding of the text.
        embedding = embed_texts([text[:MAX_TEXT_CHARS]])[0]
    prediction = _predict_with(session, head, active_id, active_path, text, embedding)
    shadow = _predict_with(session, head, shadow_id, shadow_path, text, embedding)
    repository.count_shadow_prediction(shadow_id, agreed=shadow.label == prediction.label)
    return replace(prediction, shadow=shadow)


# -- versions ----------------------------------------------------------------------------------------


def _head_row(session: Session, head: str, *, create: bool = False) -> ClassifierHead | None:
    row = ClassificationRepository(session).get_head(head, reload=True)
    if row is None and create:
        row = ClassifierHead(head=head, retrain_activate=False)
        session.add(row)
        session.flush()
    return row


def _validate_head(head: str) -> str:
    cleaned = head.strip()
    if not cleaned or len(cleaned) > 64 or not all(c.isalnum() or c in "_-." for c in cleaned):
        raise ValidationFailedError(
            f"head name {head!r} must be 1-64 letters, digits, '_', '-' or '.'", details={"field": "head"}
        )
    return cleaned


def list_versions(session: Session, head: str | None = None) -> list[ModelVersion]:
    return list(ClassificationRepository(session).versions(head))


def heads(session: Session) -> dict[str, ClassifierHead]:
    return {row.head: row for row in ClassificationRepository(session).heads()}


def get_head(session: Session, head: str) -> ClassifierHead | None:
    """A head's row (its serving pointers and retraining policy); None when it was never used."""
    return ClassificationRepository(session).get_head(head)


def get_version(session: Session, head: str, version: int) -> ModelVersion:
    row = ClassificationRepository(session).version(head, version)
    if row is None:
        raise HeadHasNoModelError(
            f"no version {version} of head {head!r}; list them with: relaydesk model list"
        )
    return row


def _add_version(
    session: Session, head: str, folder: Path, model: TextClassifier, *, source: str, relative: str
) -> ModelVersion:
    head_row = _head_row(session, head, create=True)
    assert head_row is not None
    repository = ClassificationRepository(session)
    # Lock the head row so two registrations cannot take the same number (PostgreSQL; SQLite serialises).
    repository.lock_head(head)
    number = repository.next_version_number(head)
    meta = model.meta
    row = ModelVersion(
        head=head,
        version=number,
        state=ModelState.CANDIDATE,
        source=source[:200],
        data_summary=meta.get("data_summary", {}),
        metrics=meta.get("metrics", {}),
        abstain_label=model.abstain_label,
        training_seconds=float(meta.get("training_seconds", 0.0)),
        artifact_path=relative,
        shadow_predictions=0,
        shadow_agreements=0,
    )
    session.add(row)
    session.flush()
    return row


def train_version(
    session: Session,
    head: str,
    texts: list[str],
    labels: list[str],
    *,
    source: str,
    abstain_label: str | None = None,
    activate: bool = False,
    options: TrainingOptions | None = None,
) -> ModelVersion:
    """Train a model for ``head`` from labelled texts and register it (a candidate unless ``activate``).

    Training runs before the first write, so the caller's transaction holds no write lock meanwhile.
    ``TrainingDataError`` (a ValidationFailedError here) when the data cannot make a model.
    """
    head = _validate_head(head)
    options = options or TrainingOptions(target_precision=get_settings().classification_target_precision)
    relative = f"{head}/{uuid.uuid4().hex}"
    folder = models_dir() / relative
    folder.mkdir(parents=True, exist_ok=True)
    try:
        model = train(texts, labels, abstain_label=abstain_label, options=options)
        model.save(folder)
    except TrainingDataError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationFailedError(f"cannot train {head!r}: {exc}") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    row = _add_version(session, head, folder, model, source=source, relative=relative)
    if activate:
        return _activate_version(session, head, row.version)
    return row


def register_version(
    session: Session, head: str, model_folder: Path, *, source: str | None = None
) -> ModelVersion:
    """Copy a model folder (from ``relaydesk model train``) into the registry as a new candidate."""
    head = _validate_head(head)
    try:
        model = load_classifier(model_folder)
    except ValueError as exc:
        raise ValidationFailedError(str(exc)) from exc
    relative = f"{head}/{uuid.uuid4().hex}"
    target = models_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(model_folder, target)
    return _add_version(
        session, head, target, model, source=source or f"folder:{model_folder.name}", relative=relative
    )


def activate(session: Session, head: str, version: int) -> ModelVersion:
    """Make ``version`` the one serving ``head``; the one it replaces is retired (rollback returns to it)."""
    return _activate_version(session, head, version)


def _activate_version(session: Session, head: str, version: int) -> ModelVersion:
    row = get_version(session, head, version)
    head_row = _head_row(session, head, create=True)
    assert head_row is not None
    if head_row.active_version_id == row.id:
        return row
    _check_loadable(row)
    if head_row.active_version_id is not None:
        previous = ClassificationRepository(session).get_version(head_row.active_version_id)
        if previous is not None:
            previous.state = ModelState.RETIRED
    if head_row.shadow_version_id == row.id:
        head_row.shadow_version_id = None
    row.state = ModelState.ACTIVE
    row.activated_at = utcnow()
    head_row.active_version_id = row.id
    session.flush()
    return row


def rollback(session: Session, head: str) -> ModelVersion:
    """Take the active version out of service and serve the most recently active one before it."""
    head_row = _head_row(session, head)
    if head_row is None or head_row.active_version_id is None:
        raise HeadHasNoModelError(f"head {head!r} has no active model to roll back")
    repository = ClassificationRepository(session)
    current = repository.get_version(head_row.active_version_id)
    assert current is not None
    previous = repository.last_retired(head, other_than=current.id)
    if previous is None:
        raise HeadHasNoModelError(f"head {head!r} has no earlier active version to roll back to")
    _check_loadable(previous)
    current.state = ModelState.ROLLED_BACK
    previous.state = ModelState.ACTIVE
    previous.activated_at = utcnow()
    head_row.active_version_id = previous.id
    session.flush()
    return previous


def set_shadow(session: Session, head: str, version: int | None) -> ModelVersion | None:
    """Run ``version`` in shadow beside the active one (None: stop); agreement counts start from zero."""
    head_row = _head_row(session, head, create=version is not None)
    if head_row is None:
        return None
    if head_row.shadow_version_id is not None:
        old = ClassificationRepository(session).get_version(head_row.shadow_version_id)
        if old is not None and old.state == ModelState.SHADOW:
            old.state = ModelState.CANDIDATE
    if version is None:
        head_row.shadow_version_id = None
        session.flush()
        return None
    row = get_version(session, head, version)
    if row.id == head_row.active_version_id:
        raise ConflictError(f"{row.name} is the active version; shadow a candidate instead")
    _check_loadable(row)
    row.state = ModelState.SHADOW
    row.shadow_predictions = 0
    row.shadow_agreements = 0
    head_row.shadow_version_id = row.id
    session.flush()
    return row


def _check_loadable(row: ModelVersion) -> None:
    folder = _artifact_folder(row)
    if not (folder / "meta.json").is_file():
        raise ModelLoadError(f"the artifact of {row.name} is missing at {folder}; it cannot serve")


def set_retraining(
    session: Session, head: str, *, every_hours: int | None, activate: bool = False
) -> ClassifierHead:
    """Retrain ``head`` from its registered training source every N hours (None: never)."""
    if every_hours is not None and every_hours < 1:
        raise ValidationFailedError(
            "retraining interval must be at least 1 hour", details={"field": "every_hours"}
        )
    head_row = _head_row(session, _validate_head(head), create=True)
    assert head_row is not None
    head_row.retrain_every_hours = every_hours
    head_row.retrain_activate = activate
    session.flush()
    return head_row


def scheduled_heads(session: Session) -> list[ClassifierHead]:
    """Heads with a retraining interval (``set_retraining``), due or not."""
    return list(ClassificationRepository(session).scheduled_heads())


def version_trained_on(session: Session, head: str, fingerprint: str) -> ModelVersion | None:
    """A version of ``head`` already trained on data with this fingerprint (retraining skips it)."""
    return ClassificationRepository(session).with_fingerprint(head, fingerprint)


def mark_retrained(session: Session, head: str) -> None:
    """Start the head's retraining interval again from now (nothing when the head has no row)."""
    head_row = ClassificationRepository(session).get_head(head)
    if head_row is not None:
        head_row.last_retrained_at = utcnow()


# -- training sources --------------------------------------------------------------------------------

TrainingSource = Callable[[Session], tuple[list[str], list[str]]]
_sources: dict[str, tuple[str, TrainingSource]] = {}


def register_training_source(head: str, fn: TrainingSource, *, name: str | None = None) -> None:
    """Declare where ``head``'s training data comes from (e.g. triage: resolved tickets)."""
    _sources[head] = (name or str(getattr(fn, "__qualname__", "source")), fn)


def unregister_training_source(head: str) -> None:
    _sources.pop(head, None)


def training_sources() -> dict[str, tuple[str, TrainingSource]]:
    return dict(_sources)


def version_summary(row: ModelVersion) -> dict[str, Any]:
    """The registry view of one version (CLI and API)."""
    metrics = row.metrics or {}
    return {
        "head": row.head,
        "version": row.version,
        "name": row.name,
        "state": str(row.state),
        "source": row.source,
        "n": (row.data_summary or {}).get("n"),
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "ece": metrics.get("ece"),
        "threshold": metrics.get("threshold"),
        "threshold_precision": metrics.get("threshold_precision"),
        "threshold_coverage": metrics.get("threshold_coverage"),
        "training_seconds": row.training_seconds,
        "created_at": row.created_at.isoformat(),
        "activated_at": row.activated_at.isoformat() if row.activated_at else None,
        "shadow_predictions": row.shadow_predictions,
        "shadow_agreement_rate": row.shadow_agreement_rate,
    }
