"""Deflection overhead and KB-gap clustering cost.

    .venv/bin/python bench/deflection.py --backend sqlite postgresql --gap-queries 500 2000

1. Suggestions: the 619 dev queries of ``data/stackfaq`` (100-article KB) go through
   ``POST /api/v1/public/suggestions`` in-process (FastAPI TestClient, one client), each typed in
   three debounced steps (a prefix, a longer prefix, the whole query) within one session, as a widget
   sends them. Reported: latency per request (search + session writes + commit) next to the bare
   ``knowledge.service.search`` latency for the same texts, so the deflection overhead is visible.
2. Gaps: the gap report (embed + average-linkage clustering) over N distinct unanswered queries,
   cold (nothing embedded yet in the process) and again (query embeddings cached in the process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.jobs import _drop, _fresh_database  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(backend: str, gap_sizes: list[int], workdir: Path) -> dict[str, object]:
    url, handle = _fresh_database(backend, workdir)
    os.environ["RELAYDESK_DATABASE_URL"] = url
    os.environ["RELAYDESK_VAR_DIR"] = str(workdir)
    os.environ["RELAYDESK_DEFLECTION_RATE_PER_MINUTE"] = "100000000"
    from fastapi.testclient import TestClient

    from relaydesk.app import create_app
    from relaydesk.db import Database, set_database
    from relaydesk.db.migrate import upgrade
    from relaydesk.deflection.models import SuggestionQuery, SuggestionSession
    from relaydesk.deflection.reports import gap_report
    from relaydesk.kit.time import utcnow
    from relaydesk.knowledge import service as knowledge
    from relaydesk.knowledge.enums import ArticleStatus
    from relaydesk.knowledge.schemas import ArticleCreate
    from relaydesk.ml.embeddings import embed
    from relaydesk.settings import reset_settings_cache

    reset_settings_cache()
    try:
        upgrade(url)
        database = Database(url)
        set_database(database)
        kb = [json.loads(line) for line in (ROOT / "data/stackfaq/kb.jsonl").read_text().splitlines()]
        queries = [
            json.loads(line)["query"]
            for line in (ROOT / "data/stackfaq/dev_queries.jsonl").read_text().splitlines()
        ]
        with database.transaction() as session:
            for article in kb:
                knowledge.create_article(
                    session,
                    ArticleCreate(
                        title=article["title"], body=article["body"], status=ArticleStatus.PUBLISHED
                    ),
                    knowledge.Editor(label="bench"),
                )
        bare: list[float] = []
        with database.transaction(read_only=True) as session:
            knowledge.search(session, "warm up")
            for text in queries:
                started = time.perf_counter()
                knowledge.search(session, text)
                bare.append((time.perf_counter() - started) * 1000)
        latencies: list[float] = []
        abstained = 0
        with TestClient(create_app()) as client:
            for text in queries:
                words = text.split()
                steps = [
                    " ".join(words[: max(1, len(words) // 3)]),
                    " ".join(words[: max(1, 2 * len(words) // 3)]),
                    text,
                ]
                session_id = None
                for step in steps:
                    body = {"query": step[:500], "channel": "web_chat"}
                    if session_id:
                        body["session_id"] = session_id
                    started = time.perf_counter()
                    response = client.post("/api/v1/public/suggestions", json=body)
                    latencies.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                    data = response.json()
                    session_id = data["session_id"]
                abstained += data["abstained"]
        with database.transaction(read_only=True) as session:
            from sqlalchemy import func, select

            sessions = session.scalar(select(func.count()).select_from(SuggestionSession))
            stored_queries = session.scalar(select(func.count()).select_from(SuggestionQuery))
        gaps = []
        for size in gap_sizes:
            with database.transaction() as session:
                session.execute(SuggestionQuery.__table__.delete())
                session.execute(SuggestionSession.__table__.delete())
                row = SuggestionSession(
                    public_id=f"bench-{size}",
                    channel="web_chat",
                    source="public_api",
                    holdout=False,
                    abstained=True,
                    outcome="pending",
                    created_at=utcnow(),
                    last_activity_at=utcnow(),
                )
                session.add(row)
                session.flush()
                for n in range(size):
                    text = (
                        f"{queries[n % len(queries)]} (case {n // len(queries)})"
                        if n >= len(queries)
                        else queries[n]
                    )
                    session.add(
                        SuggestionQuery(session_id=row.id, text=text, abstained=True, created_at=utcnow())
                    )
            with database.transaction(read_only=True) as session:
                from relaydesk.deflection import reports

                reports._EMBEDDINGS.clear()
                embed(["load the model before the clock starts"])
                started = time.perf_counter()
                report = gap_report(session, max_clusters=10_000)
                cold = time.perf_counter() - started
                started = time.perf_counter()
                gap_report(session, max_clusters=10_000)  # again: embeddings cached in the process
                warm = time.perf_counter() - started
                gaps.append(
                    {
                        "queries": size,
                        "cold_seconds": round(cold, 2),
                        "cached_seconds": round(warm, 2),
                        "clusters": len(report.clusters),
                        "largest": report.clusters[0].count,
                    }
                )
        set_database(None)
        database.dispose()
        return {
            "backend": backend,
            "requests": len(latencies),
            "sessions": sessions,
            "stored_queries": stored_queries,
            "abstained_share": round(abstained / len(queries), 3),
            "suggest_ms_p50": round(statistics.median(latencies), 1),
            "suggest_ms_p95": round(pct(latencies, 0.95), 1),
            "bare_search_ms_p50": round(statistics.median(bare), 1),
            "bare_search_ms_p95": round(pct(bare, 0.95), 1),
            "gaps": gaps,
        }
    finally:
        _drop(handle)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument("--gap-queries", nargs="+", type=int, default=[500, 2000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            print(json.dumps(run(backend, args.gap_queries, Path(tmp)), indent=None))


if __name__ == "__main__":
    main()
