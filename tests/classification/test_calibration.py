"""Calibration and abstention thresholds, on synthetic held-out scores where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from relaydesk.classification.calibration import choose_threshold, expected_calibration_error, fit_temperature
from relaydesk.classification.classifier import TrainingDataError, validate_training_data


def test_temperature_softens_overconfident_margins():
    rng = np.random.default_rng(0)
    truth_index = rng.integers(0, 3, size=600)
    margins = rng.normal(0, 1, size=(600, 3))
    # Right 70 % of the time but with huge margins: raw softmax says ~100 %, so T must be > 1.
    right = rng.random(600) < 0.7
    winner = np.where(right, truth_index, (truth_index + 1) % 3)
    margins[np.arange(600), winner] += 25
    labels = ["a", "b", "c"]
    truth = [labels[i] for i in truth_index]
    temperature = fit_temperature(margins, truth, labels)
    assert temperature > 5
    scaled = np.exp(margins / temperature)
    confidence = (scaled / scaled.sum(axis=1, keepdims=True)).max(axis=1)
    assert abs(confidence.mean() - 0.7) < 0.05  # calibrated: confidence matches accuracy
    assert expected_calibration_error(confidence, right) < 0.05
    raw = np.exp(margins - margins.max(axis=1, keepdims=True))
    assert expected_calibration_error((raw / raw.sum(axis=1, keepdims=True)).max(axis=1), right) > 0.25


def test_ece_is_the_confidence_accuracy_gap():
    confidence = np.array([0.9] * 10)
    assert expected_calibration_error(confidence, np.array([True] * 9 + [False])) == pytest.approx(0.0)
    assert expected_calibration_error(confidence, np.array([True] * 5 + [False] * 5)) == pytest.approx(0.4)


def test_threshold_is_the_lowest_confidence_that_keeps_the_target_precision():
    labels = ["a", "b"]
    # Confidences 0.95 .. 0.55; the two lowest-confidence predictions are wrong.
    confidence = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.58, 0.55])
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    truth = ["a"] * 8 + ["b", "b"]
    threshold, stats = choose_threshold(probabilities, truth, labels, None, target_precision=0.9)
    # Keeping down to 0.58 gives 8/9 = 0.89 < 0.9; down to 0.6 gives 8/8.
    assert threshold == 0.6
    assert stats["threshold_precision"] == 1.0
    assert stats["threshold_coverage"] == 0.8
    threshold, stats = choose_threshold(probabilities, truth, labels, None, target_precision=0.8)
    assert threshold == 0.55 and stats["threshold_coverage"] == 1.0


def test_abstain_threshold_separates_out_of_scope_from_unsure_in_scope():
    labels = ["a", "b", "oos"]
    probabilities = np.array(
        [
            [0.9, 0.05, 0.05],  # a, sure
            [0.8, 0.1, 0.1],  # a
            [0.1, 0.85, 0.05],  # b
            [0.45, 0.3, 0.25],  # oos, looks like a weak "a"
            [0.4, 0.35, 0.25],  # oos, weak
            [0.1, 0.1, 0.8],  # oos, predicted as the oos class
        ]
    )
    truth = ["a", "a", "b", "oos", "oos", "oos"]
    threshold, stats = choose_threshold(probabilities, truth, labels, "oos", target_precision=0.9)
    assert 0.45 < threshold <= 0.8
    assert stats["heldout_in_scope_accuracy"] == 1.0
    assert stats["heldout_abstain_recall"] == 1.0


def test_training_data_needs_two_classes_and_enough_examples_of_each():
    with pytest.raises(TrainingDataError, match="at least 2 classes"):
        validate_training_data(["x"] * 5, ["a"] * 5)
    with pytest.raises(TrainingDataError, match=r"'b' \(1\)"):
        validate_training_data(["x"] * 6, ["a"] * 5 + ["b"])
    with pytest.raises(TrainingDataError, match="empty text"):
        validate_training_data(["x", " "] * 5, ["a", "b"] * 5)


def test_abstain_recall_target_takes_the_lowest_threshold_that_reaches_it():
    labels = ["a", "b", "oos"]
    probabilities = np.array(
        [[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.45, 0.3, 0.25], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]]
    )
    truth = ["a", "b", "oos", "oos", "oos"]
    threshold, stats = choose_threshold(
        probabilities, truth, labels, "oos", target_precision=0.9, abstain_recall_target=0.6
    )
    assert threshold == 0.45  # abstains on the 0.40 one: 2 of 3 out-of-scope caught
    assert stats["heldout_abstain_recall"] == pytest.approx(2 / 3)
    assert "recall >= 0.6" in stats["threshold_rule"]
    assert stats["threshold_curve"][0] == {
        "threshold": 0.0,
        "in_scope_accuracy": 1.0,
        "abstain_recall": 0.3333,
    }
