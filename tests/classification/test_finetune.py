"""The fine-tuned second opinion: top MiniLM layers retrained on the labels, saved and served."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from relaydesk.classification.calibration import fit_combination
from relaydesk.classification.classifier import (
    TOP_LAYERS_FILE,
    TrainingOptions,
    load_classifier,
    train,
)
from relaydesk.classification.finetune import FineTuneOptions, encode, fine_tune, seconds_per_epoch
from tests.classification.conftest import read_rows

OPTIONS = TrainingOptions(fine_tune_layers=2, fine_tune_epochs=2, folds=3)


@pytest.fixture(scope="module")
def fine_tuned(clinc_slice, tmp_path_factory):
    """A trained model given fine-tuned layers (on a slice this easy the held-out fit may weigh them 0)."""
    texts, labels = read_rows(clinc_slice[0])
    model = train(texts, labels, abstain_label="oos", options=OPTIONS)
    encoded = encode(texts, 2)
    model.top_layers = fine_tune(
        encoded.states,
        [model.labels.index(label) for label in labels],
        len(model.labels),
        FineTuneOptions(layers=2),
    )
    model.fine_tune_layers, model.fine_tune_weight = 2, 0.7
    folder = tmp_path_factory.mktemp("ft") / "model"
    model.save(folder)
    return model, folder


def test_the_held_out_fit_weighs_an_informative_opinion_and_ignores_noise():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 600)
    labels = ["a", "b", "c"]
    margins = rng.normal(size=(600, 3))
    margins[np.arange(600), truth] += 0.8  # a weak first opinion
    informative = np.log(np.full((600, 3), 0.05))
    informative[np.arange(600), truth] = np.log(0.9)
    _t, weight = fit_combination(margins, informative, [labels[t] for t in truth], labels)
    assert weight > 0.5
    noise = np.log(rng.dirichlet(np.ones(3), 600))
    _t, weight = fit_combination(margins, noise, [labels[t] for t in truth], labels)
    assert weight < 0.1


def test_the_trainable_layers_learn_the_labels_from_cached_states(clinc_slice):
    texts, labels = read_rows(clinc_slice[0])
    classes = sorted(set(labels))
    targets = [classes.index(label) for label in labels]
    encoded = encode(texts, 2)
    assert encoded.embeddings.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(encoded.embeddings, axis=1), 1.0, atol=1e-4)

    top = fine_tune(encoded.states, targets, len(classes), FineTuneOptions(layers=2, epochs=3))
    predicted = top.logits(encoded.states).argmax(axis=1)
    assert (predicted == np.array(targets)).mean() > 0.9


def test_a_trained_model_combines_both_opinions_and_reads_back_the_same(fine_tuned, clinc_slice):
    model, folder = fine_tuned
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["format"] == 2 and meta["fine_tune_layers"] == 2 and meta["fine_tune_weight"] == 0.7
    assert (folder / TOP_LAYERS_FILE).is_file()

    val_texts, val_labels = read_rows(clinc_slice[1])
    loaded = load_classifier(folder)
    assert loaded.top_layers is not None
    np.testing.assert_allclose(loaded.predict_proba(val_texts), model.predict_proba(val_texts), atol=1e-5)
    decided = [o.label for o in loaded.predict(val_texts)]
    in_scope = [p == t for p, t in zip(decided, val_labels, strict=True) if t != "oos"]
    assert sum(in_scope) / len(in_scope) > 0.9


def test_one_text_on_the_request_path_agrees_with_the_batch_path(fine_tuned, clinc_slice):
    model, _folder = fine_tuned
    val_texts, _ = read_rows(clinc_slice[1])
    batch = model.predict(val_texts[:12])
    for text, together in zip(val_texts[:12], batch, strict=True):
        alone = model.predict_one(text)  # ONNX Runtime, on float32 states (the batch keeps float16)
        assert alone.top[0][0] == together.top[0][0]
        assert alone.confidence == pytest.approx(together.confidence, abs=0.01)


def test_the_onnx_runtime_copy_of_the_layers_scores_one_text_as_torch_does(
    fine_tuned, clinc_slice, monkeypatch
):
    model, _folder = fine_tuned
    val_texts, _ = read_rows(clinc_slice[1])
    encoded = encode(val_texts[:1], 2)
    onnx = model.top_layers.logits(encoded.states)
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "fp32")  # the torch reference path
    np.testing.assert_allclose(onnx, model.top_layers.logits(encoded.states), atol=1e-4)


def test_fine_tuning_runs_a_fraction_of_an_epoch(clinc_slice):
    texts, labels = read_rows(clinc_slice[0])
    classes = sorted(set(labels))
    encoded = encode(texts, 1)
    said: list[str] = []
    fine_tune(
        encoded.states,
        [classes.index(x) for x in labels],
        len(classes),
        FineTuneOptions(layers=1, epochs=1.5),
        said.append,
    )
    assert [m.split(":")[0] for m in said] == ["fine-tuning 1.00/1.5 epochs", "fine-tuning 1.50/1.5 epochs"]


def test_the_epoch_estimate_grows_with_the_data(clinc_slice):
    texts, _ = read_rows(clinc_slice[0])
    states = encode(texts, 2).states
    one, three = seconds_per_epoch(states, 2), seconds_per_epoch(states * 3, 2)
    assert 0 < one < 60
    assert 1.5 < three / one < 6  # three times the tokens: about three times the time (timing noise aside)


def test_the_epoch_estimate_of_a_single_batch_is_timed(clinc_slice):
    texts, _ = read_rows(clinc_slice[0])
    states = encode(texts[:20], 1).states  # fewer texts than one batch
    assert seconds_per_epoch(states, 1) > 0


def test_a_time_budget_too_short_for_fine_tuning_trains_without_it(clinc_slice):
    texts, labels = read_rows(clinc_slice[0])
    said: list[str] = []
    model = train(
        texts, labels, abstain_label="oos", options=replace(OPTIONS, time_budget_seconds=0.1), log=said.append
    )  # the SVM folds alone take longer than 0.1 s on any CPU
    assert model.top_layers is None and model.meta["fine_tune_epochs_run"] == 0
    assert any("0 of 2 epochs fit the 0.1 s budget" in m for m in said), said


def test_a_format_1_folder_still_loads_and_a_missing_layers_file_is_named(fine_tuned, tmp_path):
    _model, folder = fine_tuned
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / TOP_LAYERS_FILE).unlink()
    with pytest.raises(ValueError, match=TOP_LAYERS_FILE):
        load_classifier(broken)

    meta = json.loads((broken / "meta.json").read_text())
    for key in ("fine_tune_layers", "fine_tune_weight"):
        meta.pop(key)
    (broken / "meta.json").write_text(json.dumps({**meta, "format": 1}))
    old = load_classifier(broken)  # a model written before fine-tuning existed: the linear model alone
    assert old.top_layers is None and old.predict_one("set a timer for ten minutes").top
