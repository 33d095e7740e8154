"""The calibrated relevance model: logistic regression on a candidate's features, and the abstain threshold.

``score`` is the probability that the article answers the query. Two models share that meaning: one
on the index's features, for any article, and (``Calibration.questions``) one that also reads how close
the query is to the article's questions (``Article.questions``: other ways customers ask it), for the
candidates whose article has some. Labelled queries are the questions that model learns from: in
``fit`` each answerable labelled query counts as a question of its article for the *other* queries
(out of fold while cross-validating, leaving itself out in the final fit), so the figures it reports
are those of new phrasings. The default coefficients ship in
``default_calibration.json`` (fitted on data/stackfaq/dev_queries.jsonl with the threshold chosen by
k-fold cross-validation); ``relaydesk kb calibrate`` refits them on an organisation's own labelled
queries and stores the result in the database (``kb_index_state.calibration``), where every process
picks it up with the next index generation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from relaydesk.knowledge.features import FEATURE_NAMES

__all__ = [
    "Calibration",
    "CalibrationDataError",
    "Outcome",
    "QueryFeatures",
    "QuestionMatch",
    "default_calibration",
    "fit",
    "outcome",
    "shown_count",
]

DEFAULT_PATH = Path(__file__).with_name("default_calibration.json")


@dataclass(frozen=True)
class QuestionMatch:
    """Per candidate, the query's best cosine with one of its article's questions, apart for the
    questions the questions model was fitted with (``Calibration.fitted_questions``) and the others;
    NaN where the article has none of that kind."""

    fitted: npt.NDArray[np.float64]
    other: npt.NDArray[np.float64]

    @classmethod
    def split(
        cls, similarities: Sequence[tuple[npt.NDArray[np.float32], Sequence[str]]], fitted: frozenset[str]
    ) -> QuestionMatch:
        """From ``HybridIndex.question_similarities``: each candidate's (cosines, question keys)."""
        both = np.full((2, len(similarities)), np.nan)
        for c, (scores, keys) in enumerate(similarities):
            for row, wanted in ((0, True), (1, False)):
                values = [float(v) for v, k in zip(scores, keys, strict=True) if (k in fitted) == wanted]
                if values:
                    both[row, c] = max(values)
        return cls(both[0], both[1])


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
    # The model for candidates whose article has questions: these features plus ``question_best`` (the
    # query's best cosine with one of the article's questions), with its own threshold and floor.
    questions: Calibration | None = None
    # The ``question_key``s of the labelled queries that model was fitted with as questions (what
    # ``kb calibrate`` stores as the articles' questions): the questions it may read both ways.
    fitted_questions: frozenset[str] = frozenset()

    def _linear(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = ((features - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(z + self.intercept)))
        return result

    def probabilities(
        self, features: npt.NDArray[np.float64], match: QuestionMatch | None = None
    ) -> npt.NDArray[np.float64]:
        """Each candidate's probability of answering; ``match`` (the query's best cosine with each
        candidate's questions) lets the questions model score those whose article has some.

        The questions model learnt, from labelled queries standing for questions, that a query close to
        none of an article's questions is seldom answered by it. That holds for questions like those it
        was fitted with (``fitted_questions``: many askers' own words, stored by ``kb calibrate``), so
        for them its probability stands, lower or higher than the base model's. Any other question (an
        editor's few, a proposal from the deflection report) can only raise the probability: a few
        questions do not cover every way customers ask, and must not hide an article from the rest.
        """
        if features.shape[0] == 0:
            return np.zeros(0)
        result = self._linear(features)
        if match is None or self.questions is None:
            return result
        for best, both_ways in ((match.fitted, True), (match.other, False)):
            rows = ~np.isnan(best)
            if rows.any():
                scored = self.questions._linear(np.column_stack([features[rows], best[rows]]))
                result[rows] = scored if both_ways else np.maximum(result[rows], scored)
        return result

    def by_questions(self, match: QuestionMatch | None) -> npt.NDArray[np.bool_]:
        """Which candidates the questions model scores (their article has questions and there is one)."""
        if match is None or self.questions is None:
            return np.zeros(0 if match is None else len(match.fitted), dtype=bool)
        result: npt.NDArray[np.bool_] = ~np.isnan(match.fitted) | ~np.isnan(match.other)
        return result

    def scorers(self, match: QuestionMatch | None, count: int) -> list[Calibration]:
        """Per candidate, the model whose threshold and floor it is held to: the questions model for
        those it scores (``by_questions``), this one for the rest."""
        by_questions = self.by_questions(match)
        if self.questions is None or not len(by_questions):
            return [self] * count
        return [self.questions if q else self for q in by_questions]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        for name in ("mean", "scale", "coef"):
            data[name] = list(data[name])
        data["questions"] = self.questions.to_dict() if self.questions else None
        data["fitted_questions"] = sorted(self.fitted_questions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        questions = data.get("questions")
        return cls(
            feature_names=tuple(data["feature_names"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            min_score=float(data.get("min_score", 0.0)),
            meta=dict(data.get("meta") or {}),
            questions=cls.from_dict(questions) if questions else None,
            fitted_questions=frozenset(data.get("fitted_questions") or ()),
        )


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    return Calibration.from_dict(json.loads(DEFAULT_PATH.read_text()))


@dataclass(frozen=True)
class QueryFeatures:
    """One labelled query's candidates: their features and which one (if any) is the right article.

    The rest is what the questions model needs: the query's unit vector and ``question_key``, its right
    article's id, each candidate's article id, and each candidate's stored questions (cosines, keys).
    """

    features: npt.NDArray[np.float64]  # (candidates, features), ranked by the index's prefilter
    labels: npt.NDArray[np.bool_]  # True for the article that answers it
    answerable: bool
    key: str = ""
    vector: npt.NDArray[np.float32] | None = None
    article: int | None = None
    candidate_articles: tuple[int, ...] = ()
    stored_questions: tuple[tuple[npt.NDArray[np.float32], tuple[str, ...]], ...] = ()


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


def shown_count(
    ranked_probabilities: npt.NDArray[np.float64],
    min_score: float | npt.NDArray[np.float64],
    limit: int = 3,
) -> int:
    """How many ranked suggestions search shows: the first, then those scoring ``min_score`` or more
    (one floor, or one per ranked suggestion: that of the model which scored it)."""
    if len(ranked_probabilities) == 0:
        return 0
    floors = np.broadcast_to(np.asarray(min_score, dtype=float), ranked_probabilities.shape)
    below = np.flatnonzero(ranked_probabilities[1:] < floors[1:])  # the list stops at the first
    return min(limit, 1 + (int(below[0]) if len(below) else len(ranked_probabilities) - 1))


class CalibrationDataError(ValueError):
    """Too few labelled queries to fit and cross-validate a calibration."""


@dataclass(frozen=True)
class _Scored:
    """One query scored out of fold: its candidates' probabilities in ranked order, their labels, and
    which of them the questions model scored."""

    probabilities: npt.NDArray[np.float64]
    labels: npt.NDArray[np.bool_]
    by_questions: npt.NDArray[np.bool_]


def _logistic(
    rows: Sequence[npt.NDArray[np.float64]],
    labels: Sequence[npt.NDArray[np.bool_]],
    regularisation: float,
    names: tuple[str, ...],
) -> Calibration:
    from sklearn.linear_model import LogisticRegression  # sklearn: seconds to import, for fitting only

    x, y = np.vstack(rows), np.concatenate(labels)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=regularisation, max_iter=5000, class_weight=None)
    model.fit((x - mean) / scale, y)
    return Calibration(
        feature_names=names,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        threshold=0.0,
    )


class _QuestionPool:
    """The questions each sample's candidates have, for ``fit``: the *other* answerable labelled queries
    of the candidate's article (those ``allowed``: the training fold), and the article's stored questions
    that are not copies of a labelled query (those are counted as labelled ones, fold by fold)."""

    def __init__(self, samples: Sequence[QueryFeatures]) -> None:
        self.samples = samples
        vectors = np.vstack([np.asarray(s.vector, dtype=np.float64) for s in samples])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self.similarities = vectors @ vectors.T
        self.keys = np.array([s.key for s in samples], dtype=object)
        self.labelled = set(self.keys.tolist())
        members: dict[int, list[int]] = {}
        for i, sample in enumerate(samples):
            if sample.answerable and sample.article is not None:
                members.setdefault(sample.article, []).append(i)
        self.members = {article: np.array(rows, dtype=np.intp) for article, rows in members.items()}

    @staticmethod
    def usable(samples: Sequence[QueryFeatures]) -> bool:
        return all(s.vector is not None and len(s.candidate_articles) == len(s.labels) for s in samples)

    def best(self, i: int, allowed: npt.NDArray[np.bool_]) -> QuestionMatch:
        """Sample ``i``'s candidates' best cosines: with the allowed labelled queries of their article
        (the questions the model is fitted with), and with their other stored questions."""
        sample = self.samples[i]
        fitted = np.full(len(sample.candidate_articles), np.nan)
        other = np.full(len(sample.candidate_articles), np.nan)
        for c, article in enumerate(sample.candidate_articles):
            rows = self.members.get(article, np.zeros(0, dtype=np.intp))
            rows = rows[allowed[rows] & (self.keys[rows] != sample.key)]
            if len(rows):
                fitted[c] = float(self.similarities[i, rows].max())
            if c < len(sample.stored_questions):
                scores, keys = sample.stored_questions[c]
                values = [float(v) for v, k in zip(scores, keys, strict=True) if k not in self.labelled]
                if values:
                    other[c] = max(values)
        return QuestionMatch(fitted, other)


def _scored(model: Calibration, sample: QueryFeatures, match: QuestionMatch | None) -> _Scored:
    probabilities = model.probabilities(sample.features, match)
    by_questions = model.by_questions(match)
    if len(by_questions) == 0:
        by_questions = np.zeros(len(probabilities), dtype=bool)
    order = np.argsort(-probabilities, kind="stable")
    return _Scored(probabilities[order], sample.labels[order], by_questions[order])


@dataclass(frozen=True)
class _OperatingPoint:
    threshold: float
    min_score: float
    outcome: Outcome
    mean_shown: float


def _operating_point(
    scored: Sequence[_Scored],
    answerable: npt.NDArray[np.bool_],
    max_false_abstain: float,
    base: _OperatingPoint | None = None,
) -> _OperatingPoint:
    """Choose the threshold and floor of one model from out-of-fold scores: of the base model (every
    candidate its own), or, given ``base``, of the questions model (the candidates it scored), the base
    model's choice standing for the rest.

    The threshold is the highest under which at most ``max_false_abstain`` of the answerable queries it
    is chosen on are abstained on: all of them for the base model; for the questions model those whose
    right article has questions (``_article_has_questions``), of which the ones a base-scored candidate
    tops are held to the base threshold. (Choosing it on answerable queries whose right article has
    none would set it by the wrong articles that top them.)
    """
    mine = [s.by_questions if base else np.ones(len(s.probabilities), dtype=bool) for s in scored]
    tops = np.array([s.probabilities[0] for s in scored])
    top_mine = np.array([m[0] for m in mine])
    within = answerable & (_article_has_questions(scored) if base else True)
    budget = int(np.floor(max_false_abstain * within.sum()))
    if base:
        budget -= int((tops[within & ~top_mine] < base.threshold).sum())
    candidates = np.sort(tops[within & top_mine])
    threshold = float(candidates[min(max(budget, 0), len(candidates) - 1)]) if len(candidates) else 0.5
    if budget >= len(candidates) > 0:
        threshold = float(np.nextafter(candidates[-1], 1.0))  # abstaining on all of them stays in budget
    abstained = list(np.where(top_mine, tops < threshold, tops < (base.threshold if base else threshold)))
    labels, has_answer = [s.labels for s in scored], list(answerable)

    def shown(floor: float) -> list[int]:
        other = base.min_score if base else floor
        return [
            shown_count(s.probabilities, np.where(m, floor, other)) for s, m in zip(scored, mine, strict=True)
        ]

    def recall_at_3(floor: float) -> float:
        return outcome(abstained, labels, has_answer, shown(floor)).answerable_recall_at_3

    # The highest floor under which no right article that would have been suggested (rank ≤ 3) is lost.
    min_score = max(m for m in MIN_SCORE_CHOICES if recall_at_3(m) >= recall_at_3(0.0))
    counts = shown(min_score)
    suggested = [n for n, gave_up in zip(counts, abstained, strict=True) if not gave_up]
    return _OperatingPoint(
        threshold=threshold,
        min_score=min_score,
        outcome=outcome(abstained, labels, has_answer, counts),
        mean_shown=round(float(np.mean(suggested)), 3) if suggested else 0.0,
    )


def _article_has_questions(scored: Sequence[_Scored]) -> npt.NDArray[np.bool_]:
    """Per query: whether the questions model scored its right article (or, where the right article is
    not among the candidates, its top one)."""
    return np.array(
        [bool(s.by_questions[s.labels][0]) if s.labels.any() else bool(s.by_questions[0]) for s in scored]
    )


# The questions model is fitted only with this many answerable queries whose right article has questions.
MIN_QUESTION_QUERIES = 10


def fit(
    samples: Sequence[QueryFeatures],
    *,
    folds: int = 5,
    max_false_abstain: float = 0.04,
    regularisation: float = 0.3,
    seed: int = 0,
    source: str = "",
    questions: bool = True,
    splits: Sequence[tuple[Sequence[int], Sequence[int]]] | None = None,
) -> Calibration:
    """Fit the logistic model(s) and choose the abstain threshold(s) by k-fold cross-validation.

    A threshold is the highest one whose out-of-fold false-abstention rate (answerable queries left
    unanswered) stays within ``max_false_abstain``; the reported figures are the out-of-fold ones, so
    they estimate what held-out queries will see, not what the fitted queries see. With ``questions``
    (and the samples' vectors), a questions model is fitted too: each answerable query is a question of
    its article for the queries of the other folds (for all the others in the final fit).

    ``splits``: the (train, test) folds over ``samples`` to cross-validate on, instead of ``folds``
    stratified ones (bench/kb_quality_cv.py keeps a question's paraphrases in one fold); every sample
    must then have candidates.
    """
    from sklearn.model_selection import StratifiedKFold  # sklearn: seconds to import, for fitting only

    usable = [s for s in samples if len(s.labels)]
    if splits is not None and len(usable) != len(samples):
        raise ValueError("with splits given, every sample needs candidates")
    answerable = np.array([s.answerable for s in usable])
    if answerable.sum() < max(folds, 10):
        raise CalibrationDataError(
            f"Calibration needs at least {max(folds, 10)} answerable labelled queries whose article is "
            f"published; got {int(answerable.sum())}."
        )
    stratify = answerable if (~answerable).sum() >= folds else np.zeros(len(usable), dtype=bool)
    pool = _QuestionPool(usable) if questions and _QuestionPool.usable(usable) else None
    question_names = (*FEATURE_NAMES, "question_best")

    def train(indices: Sequence[int]) -> Calibration:
        base = _logistic(
            [usable[i].features for i in indices],
            [usable[i].labels for i in indices],
            regularisation,
            FEATURE_NAMES,
        )
        if pool is None:
            return base
        allowed = np.zeros(len(usable), dtype=bool)
        allowed[list(indices)] = True
        rows, labels = [], []
        for i in indices:
            match = pool.best(i, allowed)
            best = np.fmax(match.fitted, match.other)  # the nearest question, of either kind
            has = ~np.isnan(best)
            rows.append(np.column_stack([usable[i].features[has], best[has]]))
            labels.append(usable[i].labels[has])
        y = np.concatenate(labels) if labels else np.zeros(0, dtype=bool)
        if y.all() or not y.any():
            return base
        return replace(base, questions=_logistic(rows, labels, regularisation, question_names))

    base_scored: list[_Scored] = [_Scored(np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))] * len(usable)
    mixed_scored = list(base_scored)
    if splits is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(np.zeros(len(usable)), stratify))
    for train_idx, test_idx in splits:
        model = train(list(train_idx))
        allowed = np.zeros(len(usable), dtype=bool)
        allowed[train_idx] = True
        for i in test_idx:
            base_scored[i] = _scored(model, usable[i], None)
            mixed_scored[i] = _scored(model, usable[i], pool.best(i, allowed) if pool else None)
    base_point = _operating_point(base_scored, answerable, max_false_abstain)
    question_point = None
    top_by_questions = np.array([s.by_questions[0] for s in mixed_scored])
    if pool is not None and (_article_has_questions(mixed_scored) & answerable).sum() >= MIN_QUESTION_QUERIES:
        question_point = _operating_point(mixed_scored, answerable, max_false_abstain, base_point)

    final = train(range(len(usable)))
    meta: dict[str, Any] = {
        "source": source,
        "queries": len(usable),
        "answerable": int(answerable.sum()),
        "folds": folds,
        "max_false_abstain": max_false_abstain,
        "cross_validated": (question_point or base_point).outcome.as_dict(),
        "min_score": base_point.min_score,
        "mean_suggestions_shown": (question_point or base_point).mean_shown,
    }
    sub = None
    if question_point is not None and final.questions is not None:
        meta["cross_validated_without_questions"] = base_point.outcome.as_dict()
        meta["queries_topped_by_questions"] = int(top_by_questions.sum())
        sub = replace(
            final.questions,
            threshold=question_point.threshold,
            min_score=question_point.min_score,
            meta={"min_score": question_point.min_score},
        )
    fitted = frozenset(s.key for s in usable if s.answerable and s.key) if sub else frozenset()
    return replace(
        final,
        threshold=base_point.threshold,
        min_score=base_point.min_score,
        meta=meta,
        questions=sub,
        fitted_questions=fitted,
    )
