"""The fine-tuned second opinion: top MiniLM layers retrained on the labels, saved and served."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from relaydesk.classification.calibration import fit_combination
from relaydesk.classification.classifier import (
    TOP_LAYERS_FILE,
    TrainingOptions,
    load_classifier,
    train,
)
from relaydesk.classification.finetune import FineTuneOptions, encode, fine_tune
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
        alone = model.predict_one(text)  # the single-text encoder (bfloat16 where the CPU has it)
        assert alone.top[0][0] == together.top[0][0]
        assert alone.confidence == pytest.approx(together.confidence, abs=0.03)


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
