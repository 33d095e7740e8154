"""Inbound throughput: messages/s and time to acknowledge, through webhooks and through web chat.

    .venv/bin/python bench/intake.py --backend sqlite postgresql --path sms chat-rest chat-ws \\
        --messages 3000 --concurrency 8

For each backend and path: starts `relaydesk serve` (no worker, as a real deployment's API process;
``--servers N`` starts N of them, as behind a load balancer) on a fresh database, then C client
threads send messages as fast as the server answers. Messages come from 500 senders, so intake both
creates and continues tickets.

- ``sms``: signed Twilio-style webhooks (``POST /webhooks/sms``); acknowledged = the 200 answer.
- ``chat-rest``: ``POST /chat/v1/messages`` with a visitor token; acknowledged = the 201 answer.
- ``chat-ws``: ``message`` frames on 500 open chat WebSockets (one per visitor, opened before the
  clock starts); acknowledged = the ``ack`` frame, which the server sends after the commit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.jobs import _drop, _fresh_database  # noqa: E402
from relaydesk.channels.sms import sms_signature  # noqa: E402

TOKEN = "bench-sms-token"
BASE_URL = "http://bench.example"
SITE_KEY = "bench-site"
SENDERS = 500


def signed_sms(index: int) -> tuple[bytes, dict[str, str]]:
    params = {
        "MessageSid": f"SM{index:08d}",
        "From": f"+1415555{index % SENDERS:04d}",
        "To": "+15005550006",
        "Body": f"Question number {index}: where is my order?",
        "NumMedia": "0",
    }
    signature = sms_signature(TOKEN, f"{BASE_URL}/webhooks/sms", sorted(params.items()))
    return urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }


def start_server(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RELAYDESK_DATABASE_URL": url,
        "RELAYDESK_SMS_AUTH_TOKEN": TOKEN,
        "RELAYDESK_BASE_URL": BASE_URL,
        "RELAYDESK_VAR_DIR": str(workdir),
        "RELAYDESK_WEBHOOK_RATE_PER_MINUTE": "100000000",
        "RELAYDESK_CHAT_REQUESTS_PER_MINUTE": "100000000",
        "RELAYDESK_CHAT_MESSAGES_PER_MINUTE": "100000000",
        "RELAYDESK_CHAT_FRAMES_PER_MINUTE": "100000000",
        "RELAYDESK_SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghij",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaydesk.cli", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180  # imports and migrations are slow on a loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 180 s")


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_chat_site(url: str) -> None:
    """The chat site the visitors write to, created the way an admin's request would."""
    from relaydesk.channels.chat import service
    from relaydesk.channels.chat.schemas import ChatSiteCreate
    from relaydesk.db import Database

    database = Database(url)
    try:
        with database.transaction() as session:
            service.create_site(session, ChatSiteCreate(name="Bench shop"), public_key=SITE_KEY)
    finally:
        database.dispose()


def visitor_tokens(port: int, count: int) -> list[str]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        return [
            http.get("/chat/v1/conversation", headers={"X-Relaydesk-Site-Key": SITE_KEY}).json()[
                "visitor_token"
            ]
            for _ in range(count)
        ]


def sms_clients(port: int, counter: object, record: Callable[[float, bool], None]) -> Callable[[], None]:
    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for index in counter:  # type: ignore[attr-defined]
                body, headers = signed_sms(index)
                started = time.perf_counter()
                response = http.post("/webhooks/sms", content=body, headers=headers)
                record(time.perf_counter() - started, response.status_code == 200)

    return client


def chat_rest_clients(
    port: int, counter: object, record: Callable[[float, bool], None], tokens: list[str]
) -> Callable[[], None]:
    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for index in counter:  # type: ignore[attr-defined]
                headers = {
                    "X-Relaydesk-Site-Key": SITE_KEY,
                    "X-Relaydesk-Visitor-Token": tokens[index % len(tokens)],
                }
                body = {
                    "client_id": f"bench-{index:08d}",
                    "body": f"Question number {index}: where is my order?",
                }
                started = time.perf_counter()
                response = http.post("/chat/v1/messages", json=body, headers=headers)
                record(time.perf_counter() - started, response.status_code == 201)

    return client


def chat_ws_clients(
    ports: list[int],
    counter: object,
    record: Callable[[float, bool], None],
    tokens: list[str],
    concurrency: int,
) -> tuple[list[Callable[[], None]], Callable[[], None]]:
    from websockets.sync.client import connect

    # Each client thread owns an equal share of the visitors' sockets and writes on them in turn.
    shares = [tokens[i::concurrency] for i in range(concurrency)]
    stack = contextlib.ExitStack()
    sockets = [
        [
            stack.enter_context(
                connect(
                    f"ws://127.0.0.1:{ports[i % len(ports)]}/chat/v1/ws?"
                    + urlencode({"site_key": SITE_KEY, "visitor_token": t})
                )
            )
            for t in share
        ]
        for i, share in enumerate(shares)
    ]
    for group in sockets:
        for socket in group:
            assert json.loads(socket.recv(timeout=30))["type"] == "ready"

    def make(group: list) -> Callable[[], None]:  # type: ignore[type-arg]
        def client() -> None:
            for turn, index in enumerate(counter):  # type: ignore[call-overload]
                socket = group[turn % len(group)]
                started = time.perf_counter()
                socket.send(
                    json.dumps(
                        {
                            "type": "message",
                            "client_id": f"bench-{index:08d}",
                            "body": f"Question number {index}: where is my order?",
                        }
                    )
                )
                frame = json.loads(socket.recv(timeout=30))
                while frame["type"] not in ("ack", "error"):  # e.g. the visitor's own message fan-out
                    frame = json.loads(socket.recv(timeout=30))
                record(time.perf_counter() - started, frame["type"] == "ack")

        return client

    return [make(group) for group in sockets], stack.close


def run(
    backend: str, path: str, messages: int, concurrency: int, workdir: Path, port: int, servers: int = 1
) -> dict[str, object]:
    load_before = os.getloadavg()[0]  # what the rest of the machine was doing
    url, handle = _fresh_database(backend, workdir)
    ports = [port + n for n in range(servers)]
    # One after the other: the first one migrates the fresh database.
    procs = [start_server(url, p, workdir) for p in ports]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(messages))
    close: Callable[[], None] = lambda: None  # noqa: E731

    def record(elapsed: float, ok: bool) -> None:
        nonlocal errors
        with lock:
            latencies.append(elapsed)
            errors += not ok

    try:
        if path == "sms":
            for warm in range(20 * servers):  # warm up connections and caches; not counted
                body, headers = signed_sms(messages + warm)
                httpx.post(
                    f"http://127.0.0.1:{ports[warm % servers]}/webhooks/sms", content=body, headers=headers
                )
            clients = [sms_clients(ports[i % servers], counter, record) for i in range(concurrency)]
        else:
            create_chat_site(url)
            tokens = visitor_tokens(port, SENDERS)
            if path == "chat-rest":
                clients = [
                    chat_rest_clients(ports[i % servers], counter, record, tokens) for i in range(concurrency)
                ]
            else:
                clients, close = chat_ws_clients(ports, counter, record, tokens, concurrency)
        threads = [threading.Thread(target=client) for client in clients]
        cpu_before = sum(server_cpu_seconds(proc.pid) for proc in procs)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        server_cpu = sum(server_cpu_seconds(proc.pid) for proc in procs) - cpu_before
        close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        _drop(handle)
    latencies.sort()
    return {
        "backend": backend,
        "path": path,
        "servers": servers,
        "messages": messages,
        "concurrency": concurrency,
        "errors": errors,
        "messages_per_s": round(messages / wall),
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "ack_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        # CPU the server process spent per message: comparable even when other work loads the machine.
        "server_cpu_ms_per_message": round(server_cpu * 1000 / messages, 2),
        "cpus": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--path", choices=["sms", "chat-rest", "chat-ws"], nargs="+", default=["sms", "chat-rest", "chat-ws"]
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="API processes (relaydesk serve --no-worker), clients spread over them",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            for path in args.path:
                result = run(
                    backend, path, args.messages, args.concurrency, Path(tmp), args.port, args.servers
                )
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
