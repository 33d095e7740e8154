"""Job throughput: enqueue N jobs, then K worker processes lease, run and complete them.

    .venv/bin/python bench/jobs.py --backend postgresql --workers 1 4 --jobs 20000

A producer enqueues in transactions of 100 jobs while K worker processes lease, run and complete
them concurrently. Prints one JSON line per (backend, workers): the enqueue rate and the end-to-end
rate (N jobs from the first enqueue to the last completion; every job enqueued, leased, run in its
own transaction and marked done).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RELAYDESK_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")

from relaydesk.db import Database  # noqa: E402
from relaydesk.db.migrate import upgrade  # noqa: E402
from relaydesk.jobs import enqueue  # noqa: E402
from relaydesk.jobs.models import Job, JobState  # noqa: E402

POSTGRES_URL = os.environ.get(
    "RELAYDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _fresh_database(backend: str, workdir: Path, server_url: str | None = None) -> tuple[str, object]:
    """A scratch database: a file in ``workdir``, or a new database on the PostgreSQL server at
    ``server_url`` (default ``RELAYDESK_TEST_POSTGRES_URL``); ``_drop`` removes it."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    server = server_url or POSTGRES_URL
    name = f"relaydesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(server).set(database=name).render_as_string(hide_password=False), (admin, name)


def _drop(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(backend: str, workers: int, jobs: int, workdir: Path) -> dict[str, object]:
    url, handle = _fresh_database(backend, workdir)
    try:
        upgrade(url)
        database = Database(url)
        env = {
            **os.environ,
            "RELAYDESK_DATABASE_URL": url,
            # src first: the workers run this checkout's code, not whatever the virtualenv installed.
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "RELAYDESK_JOB_POLL_SECONDS": "0.05",
            "RELAYDESK_JOB_BATCH_SIZE": "100",
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "relaydesk.cli", "worker", "--import", "bench.handlers"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        time.sleep(4)  # let the workers import and start polling
        started = time.perf_counter()
        # Producers commit small batches, as request handlers do, so workers start at once.
        for offset in range(0, jobs, 100):
            with database.transaction() as session:
                for _ in range(min(100, jobs - offset)):
                    enqueue(session, "bench.noop")
        enqueued = time.perf_counter()
        while True:
            with database.transaction(read_only=True) as session:
                done = session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.state == JobState.DONE, Job.name == "bench.noop")
                )
            if done >= jobs:
                break
            time.sleep(0.02)
        finished = time.perf_counter()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        database.dispose()
    finally:
        _drop(handle)
    return {
        "backend": backend,
        "workers": workers,
        "jobs": jobs,
        "enqueue_per_s": round(jobs / (enqueued - started)),
        "drain_after_enqueue_s": round(finished - enqueued, 2),
        "end_to_end_per_s": round(jobs / (finished - started)),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite", "postgresql"]
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--jobs", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            for workers in args.workers:
                print(json.dumps(run(backend, workers, args.jobs, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
