"""Labelled queries (``{"query", "article_id"}`` JSONL): evaluate search on them, or calibrate it.

``article_id`` is the article's external id (the ``id`` of the import file), or null when the knowledge
base has no answer and search should suggest nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from relaydesk.kit.errors import ValidationFailedError
from relaydesk.knowledge import repository, service
from relaydesk.knowledge.calibration import QueryFeatures, outcome
from relaydesk.knowledge.index import features_for_query
from relaydesk.knowledge.text import question_key

__all__ = ["EVALUATION_KEYS", "LabeledQuery", "collect_features", "evaluate", "load_queries"]

EVALUATION_KEYS = (
    "answerable_p_at_1",
    "answerable_recall_at_3",
    "mrr",
    "unanswerable_abstain_rate",
    "false_abstain_rate",
    "p50_ms",
    "p99_ms",
    "n",
    "shown_p_at_1",
    "shown_recall_at_3",
    "shown_mrr",
    "questions_left_out",
)


@dataclass(frozen=True)
class LabeledQuery:
    query: str
    external_id: str | None  # None: nothing in the knowledge base answers it
    line: int


def load_queries(path: Path) -> list[LabeledQuery]:
    """Read and validate a labelled-query file; every bad line is reported with its number."""
    queries: list[LabeledQuery] = []
    errors: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(item, dict):
            errors.append(f"line {number}: expected an object with 'query' and 'article_id'")
            continue
        query, article = item.get("query"), item.get("article_id")
        if not isinstance(query, str) or not query.strip():
            errors.append(f"line {number}: 'query' must be a non-empty string")
        elif article is not None and not isinstance(article, str | int):
            errors.append(f"line {number}: 'article_id' must be the article's id (a string) or null")
        else:
            queries.append(LabeledQuery(query.strip(), None if article is None else str(article), number))
    if errors:
        shown = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise ValidationFailedError(f"{path}: {len(errors)} bad line(s):\n" + "\n".join(shown))
    if not queries:
        raise ValidationFailedError(f"{path}: no queries in the file.")
    return queries


def _resolve(session: Session, queries: Sequence[LabeledQuery]) -> list[int | None]:
    wanted = sorted({q.external_id for q in queries if q.external_id is not None})
    found = repository.get_by_external_ids(session, wanted)
    missing = [w for w in wanted if w not in found]
    if missing:
        raise ValidationFailedError(
            f"{len(missing)} article id(s) in the queries are not in the knowledge base "
            f"(import the articles first): {', '.join(missing[:10])}"
        )
    return [found[q.external_id].id if q.external_id is not None else None for q in queries]


def evaluate(
    session: Session, queries: Sequence[LabeledQuery], *, locale: str | None = None
) -> dict[str, Any]:
    """Run each query through ``service.search`` as a customer would, and score the suggestions.

    P@1, recall@3 and MRR score the ranked suggestions search produces for the answerable queries,
    also where the abstention then hides them (``SearchResult.withheld``); the abstention is scored
    apart (``unanswerable_abstain_rate``, ``false_abstain_rate``). ``shown_*`` count an abstention on
    an answerable query as a miss: what customers see end to end.

    A query found among the articles' questions (``kb calibrate`` stores the answerable labelled queries
    there) is matched without its own copy, as a new phrasing would be; ``questions_left_out`` counts them.
    """
    golds = _resolve(session, queries)
    service.search(session, "warm up", locale=locale)  # builds (or loads) the index before the clock starts
    stored = set(service.search_index(session).question_keys)
    abstained, ranked, answerable, took = [], [], [], []
    left_out = 0
    for query, gold in zip(queries, golds, strict=True):
        key = question_key(query.query)
        left_out += key in stored
        result = service.search(
            session, query.query, locale=locale, limit=3, keep_withheld=True, leave_out_question=key
        )
        took.append(result.took_ms)
        abstained.append(result.abstained)
        suggested = result.withheld if result.abstained else result.suggestions
        ranked.append(np.array([s.article_id == gold for s in suggested], dtype=bool))
        answerable.append(gold is not None)
    metrics = outcome(abstained, ranked, answerable).as_dict()
    metrics["p50_ms"] = round(float(np.percentile(took, 50)), 2)
    metrics["p99_ms"] = round(float(np.percentile(took, 99)), 2)
    metrics["n"] = len(queries)
    metrics["questions_left_out"] = left_out
    return {key: metrics[key] for key in EVALUATION_KEYS}


def collect_features(
    session: Session, queries: Sequence[LabeledQuery], *, locale: str | None = None
) -> list[QueryFeatures]:
    """Candidates and features for each labelled query against the current index (for calibration),
    with what the questions model needs: the query's vector and its candidates' stored questions."""
    golds = _resolve(session, queries)
    index = service.search_index(session)
    samples = []
    for query, gold in zip(queries, golds, strict=True):
        candidates, features, vector = features_for_query(index, query.query, public_only=True, locale=locale)
        articles = tuple(int(index.article_ids[c.position]) for c in candidates)
        stored = index.question_similarities(vector, candidates)
        samples.append(
            QueryFeatures(
                features=features,
                labels=np.array([article == gold for article in articles], dtype=bool),
                answerable=gold is not None,
                key=question_key(query.query),
                vector=vector,
                article=gold,
                candidate_articles=articles,
                stored_questions=tuple((scores, tuple(keys)) for scores, keys in stored),
            )
        )
    return samples
