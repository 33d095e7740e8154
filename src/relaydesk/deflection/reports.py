"""Deflection reports: outcomes with the holdout side by side, KB gaps clustered by meaning, articles."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.repository import DeflectionRepository
from relaydesk.deflection.schemas import (
    ArticleReportRow,
    DeflectionCounts,
    DeflectionReport,
    GapCluster,
    GapReport,
)
from relaydesk.knowledge import service as knowledge
from relaydesk.ml.embeddings import embed
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel

__all__ = ["article_report", "cluster_texts", "deflection_report", "gap_report"]

# Gap clustering is O(n²) in memory: the newest queries are what an editor acts on anyway.
MAX_GAP_QUERIES = 2000
_SAMPLES = 5


def _rate(counts: DeflectionCounts) -> float | None:
    deflected = counts.deflected_confirmed + counts.deflected_no_ticket
    settled = deflected + counts.escalated
    return round(deflected / settled, 4) if settled else None


def deflection_report(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: Channel | None = None,
) -> DeflectionReport:
    arms = {"all": DeflectionCounts(), "treated": DeflectionCounts(), "holdout": DeflectionCounts()}
    # Among sessions where search was confident: (deflected, settled) per arm.
    confident = {arm: [0, 0] for arm in arms}
    for in_holdout, outcome, abstained, said_solved, n in DeflectionRepository(session).outcome_counts(
        since, until, channel
    ):
        # A help-center search (in_holdout None) was never randomised: it counts in "all" only.
        row_arms = ("all",) if in_holdout is None else ("all", "holdout" if in_holdout else "treated")
        for arm in row_arms:
            counts = arms[arm]
            counts.sessions += n
            if not abstained:
                counts.with_suggestions += n
                was_deflected = outcome in (
                    SessionOutcome.DEFLECTED_CONFIRMED,
                    SessionOutcome.DEFLECTED_NO_TICKET,
                )
                confident[arm][0] += n if was_deflected else 0
                confident[arm][1] += n if outcome is not SessionOutcome.PENDING else 0
            if outcome is SessionOutcome.DEFLECTED_CONFIRMED:
                counts.deflected_confirmed += n
            elif outcome is SessionOutcome.DEFLECTED_NO_TICKET:
                counts.deflected_no_ticket += n
            elif outcome is SessionOutcome.ESCALATED:
                counts.escalated += n
                if said_solved:
                    counts.confirmed_then_escalated += n
            else:
                counts.pending += n
    for arm, counts in arms.items():
        counts.deflection_rate = _rate(counts)
        deflected, settled = confident[arm]
        counts.deflection_rate_with_suggestions = round(deflected / settled, 4) if settled else None
    treated, holdout = arms["treated"].deflection_rate, arms["holdout"].deflection_rate
    treated_ws = arms["treated"].deflection_rate_with_suggestions
    holdout_ws = arms["holdout"].deflection_rate_with_suggestions
    settings = get_settings()
    return DeflectionReport(
        since=since,
        until=until,
        channel=channel,
        window_days=settings.deflection_window_days,
        holdout_share=settings.deflection_holdout_share,
        all=arms["all"],
        treated=arms["treated"],
        holdout=arms["holdout"],
        uplift=round(treated - holdout, 4) if treated is not None and holdout is not None else None,
        uplift_with_suggestions=(
            round(treated_ws - holdout_ws, 4) if treated_ws is not None and holdout_ws is not None else None
        ),
    )


# Query texts seen by this process and their embeddings: a report run again (the page, the CLI)
# embeds only the questions asked since, which is most of its cost.
_EMBEDDINGS: dict[str, npt.NDArray[np.float32]] = {}
_EMBEDDINGS_MAX = 50_000
_embeddings_lock = threading.Lock()


def _embed_cached(texts: list[str]) -> npt.NDArray[np.float32]:
    with _embeddings_lock:
        known = {t: _EMBEDDINGS[t] for t in texts if t in _EMBEDDINGS}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(zip(missing, embed(missing), strict=True))
        with _embeddings_lock:
            if len(_EMBEDDINGS) + len(missing) > _EMBEDDINGS_MAX:
                _EMBEDDINGS.clear()
            _EMBEDDINGS.update((t, known[t]) for t in missing)
    return np.stack([known[t] for t in texts])


def cluster_texts(texts: list[str], distance: float) -> list[int]:
    """Cluster labels for texts by meaning: sentence embeddings, average linkage, cosine threshold."""
    if not texts:
        return []
    if len(texts) == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering

    vectors = _embed_cached(texts)
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    )
    return [int(label) for label in model.fit_predict(vectors)]


def gap_report(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    distance: float | None = None,
    max_clusters: int = 50,
) -> GapReport:
    """Queries search abstained on, or whose suggestion the customer found not helpful, by meaning."""
    rows = DeflectionRepository(session).gap_queries(since, until, limit=MAX_GAP_QUERIES)
    # One embedding per distinct wording; the counts keep how often it was asked.
    by_text: dict[str, list[tuple[str, bool, bool]]] = {}
    for text, abstained, not_helpful in rows:
        by_text.setdefault(" ".join(text.casefold().split()), []).append((text, abstained, not_helpful))
    keys = list(by_text)
    labels = cluster_texts(keys, distance if distance is not None else get_settings().deflection_gap_distance)
    grouped: dict[int, list[str]] = {}
    for key, label in zip(keys, labels, strict=True):
        grouped.setdefault(label, []).append(key)
    clusters = []
    for members in grouped.values():
        asked = [item for key in members for item in by_text[key]]
        wording = Counter(text for text, _, _ in asked)
        clusters.append(
            GapCluster(
                count=len(asked),
                abstained=sum(1 for _, a, _ in asked if a),
                not_helpful=sum(1 for _, _, h in asked if h),
                sample_queries=[text for text, _ in wording.most_common(_SAMPLES)],
            )
        )
    clusters.sort(key=lambda c: (-c.count, c.sample_queries[0]))
    return GapReport(since=since, until=until, queries=len(rows), clusters=clusters[:max_clusters])


def article_report(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> list[ArticleReportRow]:
    repo = DeflectionRepository(session)
    rows = repo.article_rows(since, until)
    titles = repo.titles([newest for _, newest, *_ in rows])
    new_questions = _new_questions(session, repo.solved_phrasings(since, until))
    report = [
        ArticleReportRow(
            article_id=article_id,
            title=titles.get(article_id, ""),
            shown=shown,
            views=views,
            solved=solved,
            not_helpful=not_helpful,
            tickets_after_viewing=after,
            new_questions=new_questions.get(article_id, []),
        )
        for article_id, _newest, shown, views, solved, not_helpful, after in rows
    ]
    report.sort(key=lambda r: (-r.shown, r.article_id))
    return report


def _new_questions(session: Session, phrasings: Sequence[tuple[int, str]]) -> dict[int, list[str]]:
    """Per article still in the knowledge base: the phrasings that solved it and are not among its
    questions yet (``question_key``: case and spacing aside), newest first, at most ``_SAMPLES``."""
    asked = knowledge.questions_of(session, {a for a, _ in phrasings})
    known = {
        article_id: {knowledge.question_key(q) for q in questions} for article_id, questions in asked.items()
    }
    result: dict[int, list[str]] = {}
    for article_id, text in phrasings:
        if article_id not in known or len(result.get(article_id, [])) >= _SAMPLES:
            continue
        key = knowledge.question_key(text)
        if key not in known[article_id]:
            known[article_id].add(key)
            result.setdefault(article_id, []).append(" ".join(text.split()))
    return result
