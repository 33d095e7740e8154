"""Feature engineering for the calibrated relevance model: a candidate's raw signals, and its features.

The index (``index.py``) measures each candidate article's raw signals for a query (``Candidate``);
``candidate_features`` turns the candidates of one query into the rows the calibrated model
(``calibration.py``) scores and ``kb calibrate`` fits, in the order of ``FEATURE_NAMES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FEATURE_NAMES", "Candidate", "candidate_features"]

FEATURE_NAMES = (
    "dense_best",
    "dense_title",
    "dense_any",
    "bm25_rel",
    "dense_any_margin",
    "dense_best_margin",
    "dense_title_margin",
    "dense_share",
)


@dataclass(frozen=True)
class Candidate:
    """One article's raw signals for a query."""

    position: int  # row in the index
    dense_best: float
    dense_title: float
    bm25: float
    best_passage: int  # global passage row


def candidate_features(candidates: Sequence[Candidate]) -> npt.NDArray[np.float64]:
    """Per-candidate features for the calibrated model (rows follow ``candidates``).

    Chosen by 5-fold cross-validation on the StackFAQ dev queries (see bench/kb_search.py and the
    knowledge README): dense similarities carry the ranking; BM25 and the lead over the runner-up
    carry most of the abstention signal.
    """
    if not candidates:
        return np.zeros((0, len(FEATURE_NAMES)))
    dense = np.array([c.dense_best for c in candidates])
    title = np.array([c.dense_title for c in candidates])
    bm25 = np.array([c.bm25 for c in candidates])
    top_bm25 = bm25.max()
    bm25_rel = bm25 / top_bm25 if top_bm25 > 0 else np.zeros_like(bm25)
    dense_any = np.maximum(dense, title)
    # How much of the candidates' (sharpened) similarity mass this one holds: low when several tie.
    weights = np.exp((dense_any - dense_any.max()) * 20.0)
    share = weights / weights.sum()
    rows: npt.NDArray[np.float64] = np.column_stack(
        [dense, title, dense_any, bm25_rel, _margin(dense_any), _margin(dense), _margin(title), share]
    )
    return rows


def _margin(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Against the best *other* candidate: positive only for the leader, by how much it leads."""
    if len(values) == 1:
        return values.copy()
    ordered = np.sort(values)
    best, second = ordered[-1], ordered[-2]
    result: npt.NDArray[np.float64] = values - np.where(values == best, second, best)
    return result
