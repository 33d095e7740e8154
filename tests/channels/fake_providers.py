"""Local stand-ins for providers that live outside: an SMS gateway and a social send API.

They speak the providers' HTTP formats (form-encoded Twilio-style send, Graph-style JSON send) and
record what they received, so tests check what would have reached the customer. Like a provider that
honours idempotency keys, a send repeating an ``Idempotency-Key`` is answered as before and not
delivered again; ``hang()`` holds every send until ``release()`` (a provider that stops answering).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeProvider:
    url: str
    # What reached the customer: a repeated idempotency key is not delivered twice.
    received: list[dict[str, Any]] = field(default_factory=list)
    # Every send request, repeats included.
    requests: int = 0
    # While set, every send answers this status (an outage).
    failing_status: int | None = None
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.released.set()

    def hang(self) -> None:
        self.holding.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()


def start_fake_provider() -> tuple[FakeProvider, ThreadingHTTPServer]:
    provider = FakeProvider(url="")
    counter = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parsed = urlparse(self.path)
            provider.requests += 1
            if not provider.released.is_set():
                provider.holding.set()
                provider.released.wait(60)
            key = self.headers.get("Idempotency-Key")
            if key and key in provider.answers:
                self._answer(*provider.answers[key])
                return
            if provider.failing_status is not None:
                self._answer(provider.failing_status, {"error": "provider outage"})
                return
            counter["n"] += 1
            if parsed.path.endswith("/Messages.json"):
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                provider.received.append(
                    {"api": "sms", "form": form, "auth": self.headers.get("Authorization")}
                )
                self._answer(201, {"sid": f"SMfake{counter['n']}", "status": "queued"}, key)
            elif parsed.path.endswith("/me/messages"):
                payload = json.loads(body)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                provider.received.append({"api": "social", "json": payload, "query": query})
                self._answer(
                    200,
                    {"recipient_id": payload["recipient"]["id"], "message_id": f"m_fake{counter['n']}"},
                    key,
                )
            else:
                self._answer(404, {"error": "unknown endpoint"})

        def _answer(self, status: int, payload: dict[str, Any], key: str | None = None) -> None:
            if key:
                provider.answers[key] = (status, payload)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider, server
