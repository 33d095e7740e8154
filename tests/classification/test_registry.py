"""Model registry: versions, promotion, rollback, shadow agreement, pickup by another process, retraining."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from relaydesk.classification import service, tasks
from relaydesk.classification.classifier import TrainingOptions
from relaydesk.classification.enums import ModelState
from relaydesk.classification.models import ClassifierHead, ModelVersion
from relaydesk.cli import app
from relaydesk.kit.errors import NotFoundError, ValidationFailedError
from tests.classification.conftest import read_rows

# TF-IDF only: the registry's behaviour does not depend on the encoder, and this keeps tests fast.
FAST = TrainingOptions(use_embeddings=False, folds=3)


@pytest.fixture(autouse=True)
def _fresh_cache():
    service.clear_model_cache()
    yield
    service.clear_model_cache()


@pytest.fixture(scope="module")
def rows(clinc_slice):
    return read_rows(clinc_slice[0])


def train(database, rows, *, head="category", activate=False, drop=None):
    texts, labels = rows
    if drop:  # a different model: one intent left out
        kept = [(t, label) for t, label in zip(texts, labels, strict=True) if label != drop]
        texts, labels = [t for t, _ in kept], [label for _, label in kept]
    with database.transaction() as session:
        row = service.train_version(
            session, head, texts, labels, source="test:clinc-slice", abstain_label="oos",
            activate=activate, options=FAST,
        )  # fmt: skip
        return row.version


def test_a_trained_version_is_registered_with_its_metrics_and_artifact(database, rows):
    version = train(database, rows)
    with database.transaction() as session:
        row = service.get_version(session, "category", version)
        assert (row.version, row.state, row.source) == (1, ModelState.CANDIDATE, "test:clinc-slice")
        assert row.data_summary["n"] == 300
        assert row.data_summary["label_counts"]["oos"] == 60
        metrics = row.metrics
        for key in ("accuracy", "macro_f1", "per_class", "confused_pairs", "ece", "threshold"):
            assert key in metrics, key
        assert set(metrics["per_class"]["translate"]) == {"precision", "recall", "support"}
        assert 0 <= metrics["threshold_coverage"] <= 1
        assert row.training_seconds > 0
        assert (service.models_dir() / row.artifact_path / "meta.json").is_file()
        # No active version yet: predict says so rather than guessing.
        assert service.predict(session, "category", "how do i say hi in french") is None


def test_predict_uses_the_active_version(database, rows):
    train(database, rows, activate=True)
    with database.transaction() as session:
        prediction = service.predict(session, "category", "how do i say thank you in italian")
    assert prediction is not None
    assert (prediction.head, prediction.label, prediction.model_version) == (
        "category",
        "translate",
        "category-1",
    )
    assert not prediction.abstained
    assert prediction.top[0][0] == "translate" and len(prediction.top) == 3
    assert prediction.shadow is None


def test_promote_then_rollback_returns_to_the_version_active_before(database, rows):
    train(database, rows, activate=True)
    train(database, rows, drop="timer")
    with database.transaction() as session:
        service.activate(session, "category", 2)
    with database.transaction() as session:
        assert (
            service.predict(session, "category", "set a timer for ten minutes").model_version == "category-2"
        )
        back = service.rollback(session, "category")
        assert back.version == 1
    with database.transaction() as session:
        states = {r.version: r.state for r in service.list_versions(session, "category")}
        assert states == {1: ModelState.ACTIVE, 2: ModelState.ROLLED_BACK}
        assert (
            service.predict(session, "category", "set a timer for ten minutes").model_version == "category-1"
        )
        # Version 1 was the first ever: nothing earlier to roll back to.
        with pytest.raises(NotFoundError, match="no earlier active version"):
            service.rollback(session, "category")


def test_a_shadow_version_predicts_beside_the_active_one_and_its_agreement_is_counted(database, rows):
    train(database, rows, activate=True)
    train(database, rows, drop="timer")  # cannot say "timer": disagrees on timer questions
    with database.transaction() as session:
        service.set_shadow(session, "category", 2)
    questions = ["set a timer for 5 minutes", "start a timer please", "translate hello to spanish",
                 "what is my bank balance"]  # fmt: skip
    with database.transaction() as session:
        predictions = [service.predict(session, "category", q) for q in questions]
    assert [p.model_version for p in predictions] == ["category-1"] * 4
    assert [p.shadow.model_version for p in predictions] == ["category-2"] * 4
    assert predictions[0].label == "timer" and predictions[0].shadow.label != "timer"
    expected_agreements = sum(p.label == p.shadow.label for p in predictions)
    with database.transaction() as session:
        shadow = service.get_version(session, "category", 2)
        assert shadow.state == ModelState.SHADOW
        assert (shadow.shadow_predictions, shadow.shadow_agreements) == (4, expected_agreements)
        assert shadow.shadow_agreement_rate == expected_agreements / 4 < 1
        service.set_shadow(session, "category", None)
    with database.transaction() as session:
        assert service.predict(session, "category", questions[0]).shadow is None
        assert service.get_version(session, "category", 2).state == ModelState.CANDIDATE


def test_a_promotion_in_another_process_is_picked_up_without_a_restart(database, rows, var_dir):
    train(database, rows, activate=True)
    train(database, rows, drop="timer")
    with database.transaction() as session:
        assert service.predict(session, "category", "set a timer").model_version == "category-1"
    # The model of version 1 is now cached in this process; another process promotes version 2.
    result = subprocess.run(
        [sys.executable, "-m", "relaydesk.cli", "model", "promote", "category", "2"],
        env={**os.environ, "RELAYDESK_VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "active"
    with database.transaction() as session:
        assert service.predict(session, "category", "set a timer").model_version == "category-2"


def test_registry_commands_list_register_shadow_and_refuse_unknown_versions(
    database, rows, tmp_path, var_dir
):
    from relaydesk.classification.classifier import train as train_model

    texts, labels = rows
    folder = tmp_path / "model"
    train_model(texts, labels, abstain_label="oos", options=FAST).save(folder)

    def cli(*args: str):
        result = CliRunner().invoke(app, ["model", *args])
        result.returncode = result.exit_code
        return result

    registered = cli("register", str(folder), "--head", "intent", "--activate")
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["name"] == "intent-1"
    assert cli("register", str(folder), "--head", "intent").returncode == 0
    shadow = cli("shadow", "intent", "2")
    assert shadow.returncode == 0, shadow.stderr
    listed = json.loads(cli("list").stdout)
    assert [(v["name"], v["state"]) for v in listed] == [("intent-2", "shadow"), ("intent-1", "active")]
    missing = cli("promote", "intent", "9")
    assert missing.returncode == 2
    assert "no version 9 of head 'intent'" in missing.stderr
    assert cli("shadow", "intent").returncode == 2  # neither a version nor --off


def test_training_data_with_one_class_is_a_validation_error(database):
    with database.transaction() as session, pytest.raises(ValidationFailedError, match="at least 2 classes"):
        service.train_version(session, "category", ["a b c"] * 5, ["x"] * 5, source="test", options=FAST)


def test_scheduled_retraining_trains_from_the_registered_source_once_per_data(database, rows):
    texts, labels = rows
    service.register_training_source("retrained", lambda session: (texts, labels), name="test-source")
    try:
        with database.transaction() as session:
            service.set_retraining(session, "retrained", every_hours=24, activate=True)
        with database.transaction() as session:
            assert tasks.enqueue_due_retraining(session) == 1
            assert tasks.enqueue_due_retraining(session) == 0  # same slot: deduplicated
        with database.transaction() as session:
            # What the worker's job runs (with the fast options; the default trainer is tested elsewhere).
            summary = tasks.retrain_head(session, "retrained", activate=True, options=FAST)
            assert summary["name"] == "retrained-1" and summary["state"] == "active"
            assert summary["source"] == "source:test-source"
        with database.transaction() as session:
            again = tasks.retrain_head(session, "retrained", options=FAST)
            assert again == {"head": "retrained", "skipped": "unchanged data", "version": 1}
            head = session.get(ClassifierHead, "retrained")
            assert head.last_retrained_at is not None
            assert session.query(ModelVersion).filter_by(head="retrained").count() == 1
            # Just retrained: not due again until the interval has passed.
            assert tasks.enqueue_due_retraining(session) == 0
    finally:
        service.unregister_training_source("retrained")
