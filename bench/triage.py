"""Triage cost per new ticket in the live pipeline, and training from an imported CSV.

    .venv/bin/python bench/triage.py --backend sqlite postgresql --tickets 600 --train-rows 3000

On a fresh database: imports ``--train-rows`` rows of BANKING77 (``data/banking77/train.csv``) with the
same reader as ``relaydesk triage import``, trains and activates a category model through
``classification.service.train_version`` (TF-IDF + MiniLM, the default options), then sends
``--tickets`` further BANKING77 questions, each from a new customer, through the real intake and runs
``triage.process_inbound`` for each (in its own transaction, as the worker does). Reports the time per
ticket (language, sentiment, prediction, impact over up to 500 recent tickets, events), how many
candidates impact compared, and how often the model abstained (the ticket then needs a person).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RELAYDESK_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")
os.environ.setdefault("RELAYDESK_POLICY_DIR", str(ROOT / "policies"))

from bench.jobs import _drop, _fresh_database  # noqa: E402


def run(backend: str, tickets: int, train_rows: int, workdir: Path) -> dict[str, object]:
    url, handle = _fresh_database(backend, workdir)
    os.environ["RELAYDESK_DATABASE_URL"] = url
    os.environ["RELAYDESK_VAR_DIR"] = str(workdir)
    from relaydesk.settings import reset_settings_cache

    reset_settings_cache()
    from relaydesk.channels.base import InboundMessage
    from relaydesk.channels.intake import ingest
    from relaydesk.classification import service as classification
    from relaydesk.customers.enums import IdentityKind
    from relaydesk.db import Database
    from relaydesk.db.migrate import upgrade
    from relaydesk.tickets.enums import Channel
    from relaydesk.triage.datasets import read_csv
    from relaydesk.triage.models import TicketTriage
    from relaydesk.triage.tasks import process_inbound
    from relaydesk.triage.training import store_examples, train_head, training_set

    upgrade(url)
    database = Database(url)
    try:
        rows = read_csv(ROOT / "data/banking77/train.csv", text_column="text", label_column="category")
        rows.raise_if_problems()
        examples = list(rows.examples)
        random.Random(0).shuffle(examples)  # the file is sorted by category
        train, live = examples[:train_rows], examples[train_rows : train_rows + tickets]
        started = time.perf_counter()
        with database.transaction() as session:
            store_examples(session, "category", train)
        with database.transaction() as session:
            data = training_set(session, "category")
        with database.transaction() as session:
            version = train_head(session, data, source="bench", activate=True)
            name, metrics = version.name, version.metrics
        training_s = time.perf_counter() - started

        message_ids = []
        for example in live:
            with database.transaction() as session:
                result = ingest(
                    session,
                    InboundMessage(
                        channel=Channel.WEB_CHAT,
                        identity_kind=IdentityKind.CHAT_VISITOR,
                        identity_value=uuid.uuid4().hex,
                        text=example.text,
                        provider_message_id=uuid.uuid4().hex,
                    ),
                )
                message_ids.append(result.message_id)
        with database.transaction() as session:  # load the models once, outside the timing
            process_inbound(session, message_id=message_ids[0])
        timings = []
        profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        for message_id in message_ids[1:]:
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            with database.transaction() as session:
                process_inbound(session, message_id=message_id)
            if profiler:
                profiler.disable()
            timings.append(time.perf_counter() - t0)
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        with database.transaction() as session:
            records = list(session.query(TicketTriage))
            abstained = sum(1 for r in records if "category" in r.needs_triage)
            compared = max(r.impact.get("compared", 0) for r in records)
        timings.sort()
        return {
            "backend": backend,
            "train_rows": len(train),
            "model": name,
            "training_s": round(training_s, 1),
            "held_out_accuracy": metrics.get("accuracy"),
            "tickets": len(timings),
            "triage_p50_ms": round(statistics.median(timings) * 1000, 1),
            "triage_p95_ms": round(timings[int(len(timings) * 0.95) - 1] * 1000, 1),
            "max_impact_candidates": compared,
            "needs_triage_share": round(abstained / len(records), 3),
            "cpus": os.cpu_count(),
        }
    finally:
        classification.clear_model_cache()
        database.dispose()
        _drop(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite"])
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--train-rows", type=int, default=3000)
    args = parser.parse_args()
    for backend in args.backend:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run(backend, args.tickets, args.train_rows, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
