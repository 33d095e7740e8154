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
    """Quality at a threshold: the ranking and the abstention measured apart, then together.

    ``answerable_p_at_1``, ``answerable_recall_at_3`` and ``mrr`` score the ranked suggestions search
    produces for answerable queries, including those an abstention then hides: the abstention is
    measured on its own by ``unanswerable_abstain_rate`` and ``false_abstain_rate``. The ``shown_*``
    figures are what a customer sees end to end, with an abstention on an answerable query a miss.
    """

    answerable_p_at_1: float
    answerable_recall_at_3: float
    mrr: float
    unanswerable_abstain_rate: float
    false_abstain_rate: float
    n: int
    shown_p_at_1: float
    shown_recall_at_3: float
    shown_mrr: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def outcome(
    abstained: Sequence[bool],
    ranked_labels: Sequence[npt.NDArray[np.bool_]],
    answerable: Sequence[bool],
    shown: Sequence[int] | None = None,
) -> Outcome:
    """Metrics from each query's abstention and its labels in ranked order (before the abstention).

    ``shown``: how many suggestions each query shows (all of its ranked labels when not given).
    """
    ranks: list[int | None] = []  # rank of the right article among the suggestions, per answerable query
    shown_ranks: list[int | None] = []
    false_abstain, abstain_unanswerable = [], []
    counts = list(shown) if shown is not None else [len(labels) for labels in ranked_labels]
    for gave_up, labels, has_answer, count in zip(abstained, ranked_labels, answerable, counts, strict=True):
        if has_answer:
            found = np.flatnonzero(labels[:count])
            rank = int(found[0]) + 1 if len(found) else None
            ranks.append(rank)
            shown_ranks.append(None if gave_up else rank)
            false_abstain.append(gave_up)
        else:
            abstain_unanswerable.append(gave_up)

    def mean(values: Sequence[Any]) -> float:
        return float(np.mean(values)) if len(values) else 0.0

    def at(limit: int, of: list[int | None]) -> float:
        return mean([r is not None and r <= limit for r in of])

    def reciprocal(of: list[int | None]) -> float:
        return mean([1.0 / r if r else 0.0 for r in of])

    return Outcome(
        answerable_p_at_1=at(1, ranks),
        answerable_recall_at_3=at(3, ranks),
        mrr=reciprocal(ranks),
        unanswerable_abstain_rate=mean(abstain_unanswerable),
        false_abstain_rate=mean(false_abstain),
        n=len(counts),
        shown_p_at_1=at(1, shown_ranks),
        shown_recall_at_3=at(3, shown_ranks),
        shown_mrr=reciprocal(shown_ranks),
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

    abstained = list(oof_tops < threshold)

    def recall_at_3(min_score: float) -> float:
        return outcome(abstained, oof_labels, list(answerable), shown(min_score)).answerable_recall_at_3

    # The highest floor under which no right article that would have been suggested (rank ≤ 3) is lost.
    min_score = max(m for m in MIN_SCORE_CHOICES if recall_at_3(m) >= recall_at_3(0.0))
    shown_at_floor = shown(min_score)
    cross_validated = outcome(abstained, oof_labels, list(answerable), shown_at_floor)
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
