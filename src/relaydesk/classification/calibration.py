"""Calibration of a classifier's scores: softmax temperature, the fine-tuned opinion's weight, ECE,
and the abstention threshold, all fitted on out-of-fold (held-out) predictions.

The recipe that uses them is in ``classifier``'s module docstring.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "choose_threshold",
    "expected_calibration_error",
    "fit_combination",
    "fit_temperature",
    "log_softmax",
    "softmax",
]

FloatArray = npt.NDArray[np.float64]


def log_softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), dtype=np.float64)


def softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def fit_temperature(margins: FloatArray, truth: Sequence[str], labels: list[str]) -> float:
    """The temperature that minimises the held-out negative log-likelihood (searched on log T)."""
    from scipy.optimize import minimize_scalar  # scipy: a second to import, needed for training only

    index = {label: i for i, label in enumerate(labels)}
    known = [(row, index[t]) for row, t in zip(range(len(truth)), truth, strict=True) if t in index]
    rows = np.array([r for r, _ in known])
    cols = np.array([c for _, c in known])

    def nll(log_t: float) -> float:
        p = softmax(margins[rows] / math.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(rows)), cols], 1e-12, None)).mean())

    result = minimize_scalar(nll, bounds=(math.log(1e-3), math.log(100.0)), method="bounded")
    return float(math.exp(result.x))


def fit_combination(
    margins: FloatArray, fine_tuned: FloatArray | None, truth: Sequence[str], labels: list[str]
) -> tuple[float, float]:
    """SVM temperature and fine-tuned weight minimising the held-out negative log-likelihood."""
    from scipy.optimize import minimize  # scipy: a second to import, needed for training only

    temperature = fit_temperature(margins, truth, labels)
    if fine_tuned is None:
        return temperature, 0.0
    index = {label: i for i, label in enumerate(labels)}
    rows = np.array([r for r, t in enumerate(truth) if t in index])
    cols = np.array([index[t] for t in truth if t in index])

    def nll(params: npt.NDArray[np.float64]) -> float:
        log_t, weight = float(params[0]), float(params[1])
        p = softmax(margins[rows] / math.exp(log_t) + weight * fine_tuned[rows])
        return float(-np.log(np.clip(p[np.arange(len(rows)), cols], 1e-12, None)).mean())

    result = minimize(
        nll,
        x0=np.array([math.log(temperature), 0.5]),
        method="L-BFGS-B",
        bounds=[(math.log(1e-3), math.log(100.0)), (0.0, 5.0)],
    )
    return float(math.exp(result.x[0])), float(result.x[1])


def expected_calibration_error(
    confidence: FloatArray, correct: npt.NDArray[np.bool_], bins: int = 15
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            total += in_bin.mean() * abs(float(confidence[in_bin].mean()) - float(correct[in_bin].mean()))
    return float(total)


def choose_threshold(
    probabilities: FloatArray,
    truth: Sequence[str],
    labels: list[str],
    abstain_label: str | None,
    target_precision: float,
    abstain_recall_target: float | None = None,
) -> tuple[float, dict[str, Any]]:
    truth_array = np.asarray(truth)
    label_array = np.asarray(labels)
    if abstain_label is None:
        confidence = probabilities.max(axis=1)
        correct = label_array[probabilities.argmax(axis=1)] == truth_array
        # The lowest threshold whose kept predictions reach the target precision: most coverage.
        order = np.argsort(-confidence)
        kept_correct = np.cumsum(correct[order])
        precision = kept_correct / np.arange(1, len(order) + 1)
        ok = np.nonzero(precision >= target_precision)[0]
        if len(ok) == 0:
            threshold = 1.0
        else:
            last = int(ok[-1])
            threshold = float(confidence[order][last])
        kept = confidence >= threshold
        return threshold, {
            "threshold": threshold,
            "threshold_rule": f"lowest confidence with held-out precision >= {target_precision}",
            "threshold_precision": float(correct[kept].mean()) if kept.any() else None,
            "threshold_coverage": float(kept.mean()),
        }
    abstain_index = labels.index(abstain_label)
    in_scope_probabilities = probabilities.copy()
    in_scope_probabilities[:, abstain_index] = -1.0
    best_in_scope = in_scope_probabilities.argmax(axis=1)
    best_confidence = in_scope_probabilities.max(axis=1)
    top_is_abstain = probabilities.argmax(axis=1) == abstain_index
    is_abstain = truth_array == abstain_label
    right_in_scope = label_array[best_in_scope] == truth_array
    candidates = np.unique(np.concatenate([[0.0], np.round(best_confidence, 3)]))
    scored = []
    for candidate in candidates:
        abstains = top_is_abstain | (best_confidence < candidate)
        in_scope_accuracy = float((right_in_scope & ~abstains)[~is_abstain].mean())
        abstain_recall = float(abstains[is_abstain].mean()) if is_abstain.any() else 0.0
        scored.append(
            (in_scope_accuracy + abstain_recall, float(candidate), in_scope_accuracy, abstain_recall)
        )
    reaching = [
        item for item in scored if abstain_recall_target is not None and item[3] >= abstain_recall_target
    ]
    if reaching:
        # The lowest threshold that reaches the wanted abstain recall keeps the most in-scope answers.
        _score, threshold, in_scope_accuracy, abstain_recall = reaching[0]
        rule = f"lowest threshold with held-out {abstain_label} recall >= {abstain_recall_target}"
    else:
        top_score = max(item[0] for item in scored)
        # Several thresholds often tie: take the one nearest the middle of the tied range rather than an
        # edge of it, which would sit right against one held-out example.
        tied = [item for item in scored if item[0] >= top_score - 1e-9]
        middle = (tied[0][1] + tied[-1][1]) / 2
        _score, threshold, in_scope_accuracy, abstain_recall = min(
            tied, key=lambda item: abs(item[1] - middle)
        )
        rule = f"maximise held-out in-scope accuracy + {abstain_label} recall"
    abstains = top_is_abstain | (best_confidence < threshold)
    kept = ~abstains
    # The trade-off at a few thresholds, so an admin can see what moving it would cost.
    curve = [
        {"threshold": t, "in_scope_accuracy": round(acc, 4), "abstain_recall": round(rec, 4)}
        for _s, t, acc, rec in scored[:: max(1, len(scored) // 20)]
    ]
    return threshold, {
        "threshold": threshold,
        "threshold_rule": rule,
        "threshold_precision": float(right_in_scope[kept].mean()) if kept.any() else None,
        "threshold_coverage": float(kept.mean()),
        "heldout_in_scope_accuracy": in_scope_accuracy,
        "heldout_abstain_recall": abstain_recall,
        "threshold_curve": curve,
    }
