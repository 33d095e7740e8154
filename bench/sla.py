"""SLA tick on PostgreSQL: the cost of a tick and due clocks processed per second, by open tickets.

    .venv/bin/python bench/sla.py --tickets 10000 100000 1000000 --due 20000

For each size a fresh database gets N open tickets and one first-response clock per ticket (COPY),
of which ``--due`` are due (their at-risk moment has passed) and the rest are due days later. Then:

- ``empty_tick_ms``: a tick with nothing due (median of 20), the price of looking;
- ``tick_ms``: one tick of a full batch (``--batch`` due clocks, each turned at risk with its
  ``sla.at_risk`` event, committed), median over the batches;
- ``due_per_s``: all ``--due`` clocks drained batch after batch, clocks / wall seconds.

Prints one JSON line per size. The tick's cost should follow the due clocks, not the open tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RELAYDESK_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")

from bench.jobs import _drop, _fresh_database  # noqa: E402
from relaydesk.db import Database  # noqa: E402
from relaydesk.db.migrate import upgrade  # noqa: E402
from relaydesk.kit.time import ManualClock, use_clock  # noqa: E402
from relaydesk.settings import reset_settings_cache  # noqa: E402
from relaydesk.sla import service as sla  # noqa: E402

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CHANNELS = ["email", "web_chat", "web_form", "sms", "in_app"]


def _load(database: Database, n_tickets: int, n_due: int) -> float:
    """COPY the tickets and their clocks; returns seconds taken (indexes included, then ANALYZE)."""
    started = time.perf_counter()
    created = NOW - timedelta(hours=2)
    raw = database.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO customers (name, tier, custom_fields, created_at, updated_at)"
                " VALUES ('Bench customer', 'standard', '{}', %s, %s) RETURNING id",
                (created, created),
            )
            customer_id = cur.fetchone()[0]
            columns = (
                "subject, customer_id, status, priority, escalation_level, channel, reply_channel, flags,"
                " custom_fields, reopen_count, version, last_customer_message_at, created_at, updated_at"
            )
            with cur.copy(f"COPY tickets ({columns}) FROM STDIN") as copy:
                for i in range(n_tickets):
                    channel = CHANNELS[i % len(CHANNELS)]
                    copy.write_row(
                        (
                            f"Ticket {i}",
                            customer_id,
                            "open",
                            "normal",
                            "frontline",
                            channel,
                            channel,
                            "[]",
                            "{}",
                            0,
                            1,
                            created,
                            created,
                            created,
                        )
                    )
            cur.execute("SELECT min(id) FROM tickets")
            first_id = cur.fetchone()[0]
            columns = (
                "ticket_id, target, state, cycle, policy_name, policy_version, calendar, target_seconds,"
                " at_risk_share, elapsed_seconds, started_at, running_since, due_at, at_risk_at"
            )
            with cur.copy(f"COPY sla_clocks ({columns}) FROM STDIN") as copy:
                for i in range(n_tickets):
                    due = i < n_due
                    # Due ones: at risk a minute ago (due in 14 minutes); the rest: days away.
                    at_risk = (
                        NOW - timedelta(minutes=1) if due else NOW + timedelta(days=2, seconds=i % 86_400)
                    )
                    copy.write_row(
                        (
                            first_id + i,
                            "first_response",
                            "running",
                            1,
                            "default",
                            "bench",
                            "always",
                            3600,
                            0.75,
                            0.0,
                            created,
                            created,
                            at_risk + timedelta(minutes=15),
                            at_risk,
                        )
                    )
            cur.execute("ANALYZE tickets")
            cur.execute("ANALYZE sla_clocks")
        conn.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def _one_tick(database: Database, batch: int) -> tuple[float, float, int]:
    begin, cpu = time.perf_counter(), time.process_time()
    with database.transaction() as session:
        result = sla.tick(session, NOW, batch=batch)
    return time.perf_counter() - begin, time.process_time() - cpu, result.processed


def run_size(url_base: str | None, n_tickets: int, n_due: int, batch: int) -> dict[str, Any]:
    url, handle = _fresh_database("postgresql", Path(tempfile.gettempdir()), url_base)
    try:
        upgrade(url)
        database = Database(url)
        load_s = _load(database, n_tickets, n_due)
        # Nothing due yet: the tick's price of looking (at a moment before the due clocks' at-risk time).
        empty = []
        for _ in range(20):
            begin = time.perf_counter()
            with database.transaction() as session:
                sla.tick(session, NOW - timedelta(minutes=5), batch=batch)
            empty.append(time.perf_counter() - begin)
        ticks, cpus, processed = [], [], 0
        wall = time.perf_counter()
        while True:
            seconds, cpu, done = _one_tick(database, batch)
            processed += done
            if done < batch:
                break
            ticks.append(seconds)
            cpus.append(cpu)
        wall = time.perf_counter() - wall
        database.dispose()
    finally:
        _drop(handle)
    return {
        "open_tickets": n_tickets,
        "due_clocks": processed,
        "batch": batch,
        "empty_tick_ms": round(statistics.median(empty) * 1000, 2),
        "tick_ms": round(statistics.median(ticks) * 1000, 1) if ticks else None,
        # This process's CPU per full tick (Python side; PostgreSQL's own work is not in it).
        "tick_client_cpu_ms": round(statistics.median(cpus) * 1000, 1) if cpus else None,
        "due_per_s": round(processed / wall),
        "load_s": round(load_s, 1),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=sla.TICK_BATCH)
    parser.add_argument("--database-url", help="PostgreSQL server to create the scratch database on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # The tick reads no policy (the clocks carry their targets); an empty folder keeps it honest.
        folder = Path(tmp)
        (folder / "README").write_text("bench")
        os.environ["RELAYDESK_POLICY_DIR"] = str(folder)
        reset_settings_cache()
        with use_clock(ManualClock(NOW)):
            for n_tickets in args.tickets:
                if args.due > n_tickets:
                    parser.error("--due must not exceed the open tickets")
                print(json.dumps(run_size(args.database_url, n_tickets, args.due, args.batch)), flush=True)


if __name__ == "__main__":
    main()
