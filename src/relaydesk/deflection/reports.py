"""Deflection reports: outcomes with the holdout side by side, KB gaps clustered by meaning, articles."""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.repository import DeflectionRepository
from relaydesk.deflection.schemas import (
    ArticleReportRow,
    DeflectionCounts,
    DeflectionPoint,
    DeflectionReport,
    GapCluster,
    GapReport,
)
from relaydesk.knowledge import service as knowledge
from relaydesk.ml.embeddings import embed
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel

__all__ = [
    "article_report",
    "check_identities",
    "cluster_texts",
    "deflection_report",
    "gap_report",
    "report_csv",
]

# Gap clustering is O(n²) in memory: the newest queries are what an editor acts on anyway.
MAX_GAP_QUERIES = 2000
_SAMPLES = 5


_DEFLECTED = (SessionOutcome.DEFLECTED_CONFIRMED, SessionOutcome.DEFLECTED_NO_TICKET)
# The count fields in which "all" is the sum of the other rows (rates are not sums).
IDENTITY_FIELDS = (
    "sessions",
    "with_suggestions",
    "deflected_confirmed",
    "deflected_no_ticket",
    "escalated",
    "pending",
    "confirmed_then_escalated",
    "settled",
)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _finish(counts: DeflectionCounts) -> None:
    deflected = counts.deflected_confirmed + counts.deflected_no_ticket
    counts.settled = deflected + counts.escalated
    counts.deflection_rate = _ratio(deflected, counts.settled)
    counts.provisional_deflection_rate = _ratio(deflected + counts.pending, counts.sessions)


def check_identities(report: DeflectionReport) -> list[str]:
    """What does not add up in a report, in words (empty when it reconciles): each row's sessions are
    its outcomes' sum, "solved, then a ticket" is part of escalated, and the all row is the sum of
    the treated, holdout and help-center rows, count by count."""
    problems = []
    rows = {"all": report.all, "treated": report.treated, "holdout": report.holdout}
    rows["help_center"] = report.help_center
    for name, c in rows.items():
        outcomes = c.deflected_confirmed + c.deflected_no_ticket + c.escalated + c.pending
        if c.sessions != outcomes:
            problems.append(f"{name}: {c.sessions} sessions but outcomes add up to {outcomes}")
        if c.settled != c.sessions - c.pending:
            problems.append(f"{name}: settled {c.settled} is not sessions minus pending")
        if c.confirmed_then_escalated > c.escalated or c.with_suggestions > c.sessions:
            problems.append(f"{name}: a part is larger than its whole")
    for field in IDENTITY_FIELDS:
        parts = sum(getattr(rows[r], field) for r in ("treated", "holdout", "help_center"))
        if getattr(report.all, field) != parts:
            problems.append(
                f"{field}: all {getattr(report.all, field)} != treated + holdout + help center {parts}"
            )
    return problems


def deflection_report(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: Channel | None = None,
) -> DeflectionReport:
    arms = {
        "all": DeflectionCounts(),
        "treated": DeflectionCounts(),
        "holdout": DeflectionCounts(),
        "help_center": DeflectionCounts(),
    }
    # Among sessions where search was confident: (deflected, settled) per arm.
    confident = {arm: [0, 0] for arm in arms}
    repo = DeflectionRepository(session)
    for in_holdout, outcome, abstained, said_solved, n in repo.outcome_counts(since, until, channel):
        # A help-center search (in_holdout None) was never randomised: its own row, so that "all" is
        # the sum of the rows and the treated-versus-holdout comparison stays between randomised arms.
        arm = "help_center" if in_holdout is None else "holdout" if in_holdout else "treated"
        for name in ("all", arm):
            counts = arms[name]
            counts.sessions += n
            if not abstained:
                counts.with_suggestions += n
                confident[name][0] += n if outcome in _DEFLECTED else 0
                confident[name][1] += n if outcome is not SessionOutcome.PENDING else 0
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
        _finish(counts)
        deflected, settled = confident[arm]
        counts.deflection_rate_with_suggestions = _ratio(deflected, settled)
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
        help_center=arms["help_center"],
        uplift=round(treated - holdout, 4) if treated is not None and holdout is not None else None,
        uplift_with_suggestions=(
            round(treated_ws - holdout_ws, 4) if treated_ws is not None and holdout_ws is not None else None
        ),
        series=_series(repo.session_days(since, until, channel)),
    )


def _series(rows: Sequence[tuple[datetime, SessionOutcome]]) -> list[DeflectionPoint]:
    """The "all" row per UTC day the sessions started on."""
    days: dict[date, Counter[SessionOutcome]] = {}
    for created_at, outcome in rows:
        day = (created_at.astimezone(UTC) if created_at.tzinfo else created_at).date()
        days.setdefault(day, Counter())[outcome] += 1
    points = []
    for day in sorted(days):
        outcomes = days[day]
        sessions = sum(outcomes.values())
        deflected = sum(outcomes[o] for o in _DEFLECTED)
        pending = outcomes[SessionOutcome.PENDING]
        settled = sessions - pending
        points.append(
            DeflectionPoint(
                day=day,
                sessions=sessions,
                settled=settled,
                deflected=deflected,
                pending=pending,
                deflection_rate=_ratio(deflected, settled),
                provisional_deflection_rate=_ratio(deflected + pending, sessions),
            )
        )
    return points


CSV_COLUMNS = ("row", *IDENTITY_FIELDS, "deflection_rate", "provisional_deflection_rate")


def report_csv(report: DeflectionReport) -> str:
    """The report as CSV: one line per row (all, treated, holdout, help center), then one per day of
    the "all" row (``row`` = the date), with the filters it was run with in a comment-free header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["since", report.since.isoformat() if report.since else "", "until",
         report.until.isoformat() if report.until else "", "channel", report.channel or ""]
    )  # fmt: skip
    writer.writerow(CSV_COLUMNS)
    rows = {"all": report.all, "treated": report.treated, "holdout": report.holdout}
    rows["help_center"] = report.help_center
    for name, c in rows.items():
        writer.writerow(
            [name, *(getattr(c, f) for f in IDENTITY_FIELDS), _cell(c.deflection_rate),
             _cell(c.provisional_deflection_rate)]
        )  # fmt: skip
    for p in report.series:
        writer.writerow(
            [p.day.isoformat(), p.sessions, "", "", "", "", p.pending, "", p.settled,
             _cell(p.deflection_rate), _cell(p.provisional_deflection_rate)]
        )  # fmt: skip
    return out.getvalue()


def _cell(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


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
    # One person asking the same thing again (a reload, the same search twice, a new session of the
    # same visitor) is one question: counted once per asker and wording, newest first, so a cluster
    # counts people, not keystrokes.
    asked_once: dict[tuple[str, str], tuple[str, bool, bool]] = {}
    for text, abstained, not_helpful, asker in rows:
        once = (asker, " ".join(text.casefold().split()))
        if once in asked_once:
            kept = asked_once[once]
            asked_once[once] = (kept[0], kept[1] or abstained, kept[2] or not_helpful)
        else:
            asked_once[once] = (text, abstained, not_helpful)
    # One embedding per distinct wording; the counts keep how many askers asked it.
    by_text: dict[str, list[tuple[str, bool, bool]]] = {}
    for (_, text_key), item in asked_once.items():
        by_text.setdefault(text_key, []).append(item)
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
    return GapReport(since=since, until=until, queries=len(asked_once), clusters=clusters[:max_clusters])


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
