"""Inbound throughput through the SMS webhook path: messages/s and time to acknowledge.

    .venv/bin/python bench/intake.py --backend sqlite postgresql --messages 3000 --concurrency 8

Starts `relaydesk serve` (one process, no worker, as a real deployment's API process) on a fresh
database, then C client threads post signed webhook requests as fast as the server answers. Each
message comes from one of 500 phone numbers, so intake both creates and continues tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.jobs import _drop, _fresh_database  # noqa: E402
from relaydesk.channels.sms import sms_signature  # noqa: E402

TOKEN = "bench-sms-token"
BASE_URL = "http://bench.example"


def signed_sms(index: int) -> tuple[bytes, dict[str, str]]:
    params = {"MessageSid": f"SM{index:08d}", "From": f"+1415555{index % 500:04d}", "To": "+15005550006",
              "Body": f"Question number {index}: where is my order?", "NumMedia": "0"}
    signature = sms_signature(TOKEN, f"{BASE_URL}/webhooks/sms", sorted(params.items()))
    return urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                         "X-Twilio-Signature": signature}


def start_server(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RELAYDESK_DATABASE_URL": url, "RELAYDESK_SMS_AUTH_TOKEN": TOKEN,
           "RELAYDESK_BASE_URL": BASE_URL, "RELAYDESK_VAR_DIR": str(workdir),
           "RELAYDESK_WEBHOOK_RATE_PER_MINUTE": "100000000",
           "RELAYDESK_SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghij"}
    proc = subprocess.Popen([sys.executable, "-m", "relaydesk.cli", "serve", "--no-worker", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def run(backend: str, messages: int, concurrency: int, workdir: Path, port: int) -> dict[str, object]:
    url, handle = _fresh_database(backend, workdir)
    proc = start_server(url, port, workdir)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(messages))

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for index in counter:
                body, headers = signed_sms(index)
                started = time.perf_counter()
                response = http.post("/webhooks/sms", content=body, headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200

    try:
        for warm in range(20):  # warm up connections and caches; not counted
            body, headers = signed_sms(messages + warm)
            httpx.post(f"http://127.0.0.1:{port}/webhooks/sms", content=body, headers=headers)
        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        _drop(handle)
    latencies.sort()
    return {
        "backend": backend,
        "messages": messages,
        "concurrency": concurrency,
        "errors": errors,
        "messages_per_s": round(messages / wall),
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "ack_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=18931)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            print(json.dumps(run(backend, args.messages, args.concurrency, Path(tmp), args.port)), flush=True)


if __name__ == "__main__":
    _ = uuid
    main()
