"""Email intake throughput over real SMTP: messages/s and time to the 250 answer.

    .venv/bin/python bench/email_smtp.py --backend sqlite postgresql --messages 1000 --concurrency 4

For each backend: a fresh database, `relaydesk email smtp-server` as its own process (as deployed),
then C client threads, each on one SMTP connection, send messages from 200 senders as fast as the
server answers. A 250 is only given after the message is committed (ticket message with the raw
message stored as an attachment, receipt, follow-up job), so the time to 250 is the time to durable.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.jobs import _drop, _fresh_database  # noqa: E402
from relaydesk.db import Database  # noqa: E402
from relaydesk.db.migrate import upgrade  # noqa: E402
from relaydesk.kit.time import utcnow  # noqa: E402

SUPPORT = "support@acme.test"


def _message(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {number % 200} <customer{number % 200}@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = f"Order {10_000 + number} has not arrived"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<bench-{number}@mail.example.com>"
    message.set_content(f"Hello,\n\nmy order {10_000 + number} has not arrived yet. Can you check?\n\nThanks")
    return message.as_bytes()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(backend: str, messages: int, concurrency: int, workdir: Path) -> dict[str, object]:
    url, handle = _fresh_database(backend, workdir)
    port = _free_port()
    server = None
    try:
        upgrade(url)
        env = {
            **os.environ,
            "RELAYDESK_DATABASE_URL": url,
            "RELAYDESK_VAR_DIR": str(workdir),
            "RELAYDESK_EMAIL_SUPPORT_ADDRESS": f"Acme Support <{SUPPORT}>",
            "PYTHONPATH": str(ROOT),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "relaydesk.cli", "email", "smtp-server", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.2)
        payloads = [_message(n) for n in range(messages)]
        latencies: list[float] = []
        lock = threading.Lock()

        def client(start: int) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for number in range(start, messages, concurrency):
                    began = time.perf_counter()
                    smtp.sendmail(f"customer{number % 200}@example.com", [SUPPORT], payloads[number])
                    with lock:
                        latencies.append(time.perf_counter() - began)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        from sqlalchemy import text

        database = Database(url)
        with database.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM messages")).scalar()
        database.dispose()
        latencies.sort()
        return {
            "backend": backend,
            "messages": messages,
            "concurrency": concurrency,
            "stored": stored,
            "messages_per_s": round(messages / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        _drop(handle)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            print(json.dumps(run(backend, args.messages, args.concurrency, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
