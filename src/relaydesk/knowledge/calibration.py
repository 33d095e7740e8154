"""The calibrated relevance model: logistic regression on a candidate's features, and the abstain threshold.

``score`` is the probability that the article answers the query. The default coefficients ship in
``default_calibration.json`` (fitted on data/stackfaq/dev_queries.jsonl with the threshold chosen by
k-fold cross-validation); ``relaydesk kb calibrate`` refits them on an organisation's own labelled
queries and stores the result in the database (``kb_index_state.calibration``), where every process
picks it up with the next index generation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Calibration",
    "CalibrationDataError",
    "Outcome",
    "QueryFeatures",
    "default_calibration",
    "fit",
    "outcome",
    "shown_count",
]

DEFAULT_PATH = Path(__file__).with_name("default_calibration.json")


@dataclass(frozen=True)
class Calibration:
    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    # Below this top probability search suggests nothing (the customer goes to a person).
    threshold: float
    # Suggestions after the first scoring under this are not shown: a confident answer is not padded
    # with articles the model gives ~0.001 (chosen by cross-validation so recall@3 does not drop).
    min_score: float = 0.0
    # Where it came from and how it did under cross-validation (for people, not for scoring).
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if features.shape[0] == 0:
            return np.zeros(0)
        z = ((features - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(z + self.intercept)))
        return result

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        for name in ("mean", "scale", "coef"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            feature_names=tuple(data["feature_names"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            min_score=float(data.get("min_score", 0.0)),
            meta=dict(data.get("meta") or {}),
        )


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    return Calibration.from_dict(json.loads(DEFAULT_PATH.read_text()))


@dataclass(frozen=True)
class QueryFeatures:
    """One labelled query's candidates: their features and which one (if any) is the right article."""

    features: npt.NDArray[np.float64]  # (candidates, features), ranked by the index's prefilter
    labels: npt.NDArray[np.bool_]  # True for the article that answers it
    answerable: bool


@dataclass(frozen=True)
class Outcome:
    """Ranking metrics at a threshold, with an abstention counted as a miss."""

    answerable_p_at_1: float
    answerable_recall_at_3: float
    mrr: float
    unanswerable_abstain_rate: float
    false_abstain_rate: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def outcome(
    tops: Sequence[float],
    ranked_labels: Sequence[npt.NDArray[np.bool_]],
    answerable: Sequence[bool],
    threshold: float,
    shown: Sequence[int] | None = None,
) -> Outcome:
    """Metrics from each query's top probability and its labels in ranked order.

    ``shown``: how many suggestions each query shows (all of its ranked labels when not given).
    """
    hits1, hits3, rr, false_abstain, abstain_unanswerable = [], [], [], [], []
    counts = list(shown) if shown is not None else [len(labels) for labels in ranked_labels]
    for top, labels, has_answer, count in zip(tops, ranked_labels, answerable, counts, strict=True):
        abstained = top < threshold
        if has_answer:
            found = np.flatnonzero(labels[:count])
            rank = int(found[0]) + 1 if len(found) and not abstained else None
            hits1.append(rank == 1)
            hits3.append(rank is not None and rank <= 3)
            rr.append(1.0 / rank if rank else 0.0)
            false_abstain.append(abstained)
        else:
            abstain_unanswerable.append(abstained)

    def mean(values: list[Any]) -> float:
        return float(np.mean(values)) if values else 0.0

    return Outcome(
        mean(hits1), mean(hits3), mean(rr), mean(abstain_unanswerable), mean(false_abstain), len(tops)
    )


# The floors ``fit`` chooses among for ``Calibration.min_score`` (the highest that loses no right article).
MIN_SCORE_CHOICES = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def shown_count(ranked_probabilities: npt.NDArray[np.float64], min_score: float, limit: int = 3) -> int:
    """How many ranked suggestions search shows: the first, then those scoring ``min_score`` or more."""
    if len(ranked_probabilities) == 0:
        return 0
    return min(limit, 1 + int((ranked_probabilities[1:] >= min_score).sum()))


class CalibrationDataError(ValueError):
    """Too few labelled queries to fit and cross-validate a calibration."""


def fit(
    samples: Sequence[QueryFeatures],
    *,
    folds: int = 5,
    max_false_abstain: float = 0.04,
    regularisation: float = 0.3,
    seed: int = 0,
    source: str = "",
) -> Calibration:
    """Fit the logistic model and choose the abstain threshold by k-fold cross-validation.

    The threshold is the highest one whose out-of-fold false-abstention rate (answerable queries
    left unanswered) stays within ``max_false_abstain``; the reported figures are the out-of-fold ones,
    so they estimate what held-out queries will see, not what the fitted queries see.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    usable = [s for s in samples if len(s.labels)]
    answerable = np.array([s.answerable for s in usable])
    if answerable.sum() < max(folds, 10):
        raise CalibrationDataError(
            f"Calibration needs at least {max(folds, 10)} answerable labelled queries whose article is "
            f"published; got {int(answerable.sum())}."
        )
    stratify = answerable if (~answerable).sum() >= folds else np.zeros(len(usable), dtype=bool)

    def train(indices: Sequence[int]) -> tuple[Any, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        x = np.vstack([usable[i].features for i in indices])
        y = np.concatenate([usable[i].labels for i in indices])
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        model = LogisticRegression(C=regularisation, max_iter=5000, class_weight=None)
        model.fit((x - mean) / scale, y)
        return model, mean, scale

    oof_tops = np.zeros(len(usable))
    oof_labels: list[npt.NDArray[np.bool_]] = [np.zeros(0, dtype=bool)] * len(usable)
    oof_probabilities: list[npt.NDArray[np.float64]] = [np.zeros(0)] * len(usable)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(usable)), stratify):
        model, mean, scale = train(list(train_idx))
        for i in test_idx:
            probabilities = model.predict_proba((usable[i].features - mean) / scale)[:, 1]
            order = np.argsort(-probabilities)
            oof_tops[i] = probabilities[order[0]]
            oof_labels[i] = usable[i].labels[order]
            oof_probabilities[i] = probabilities[order]
    answerable_tops = np.sort(oof_tops[answerable])
    allowed = int(np.floor(max_false_abstain * len(answerable_tops)))
    threshold = float(answerable_tops[allowed]) if allowed < len(answerable_tops) else 0.5

    def shown(min_score: float) -> list[int]:
        return [shown_count(p, min_score) for p in oof_probabilities]

    def recall_at_3(min_score: float) -> float:
        at = outcome(list(oof_tops), oof_labels, list(answerable), threshold, shown(min_score))
        return at.answerable_recall_at_3

    # The highest floor under which no right article that would have been suggested (rank ≤ 3) is lost.
    min_score = max(m for m in MIN_SCORE_CHOICES if recall_at_3(m) >= recall_at_3(0.0))
    shown_at_floor = shown(min_score)
    cross_validated = outcome(list(oof_tops), oof_labels, list(answerable), threshold, shown_at_floor)
    suggested = [n for n, top in zip(shown_at_floor, oof_tops, strict=True) if top >= threshold]

    model, mean, scale = train(range(len(usable)))
    from relaydesk.knowledge.index import FEATURE_NAMES

    return Calibration(
        feature_names=FEATURE_NAMES,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        min_score=min_score,
        meta={
            "source": source,
            "queries": len(usable),
            "answerable": int(answerable.sum()),
            "folds": folds,
            "max_false_abstain": max_false_abstain,
            "cross_validated": cross_validated.as_dict(),
            "min_score": min_score,
            "mean_suggestions_shown": round(float(np.mean(suggested)), 3) if suggested else 0.0,
        },
    )
