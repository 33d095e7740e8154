"""Local stand-ins for providers that live outside: an SMS gateway and a social send API.

They speak the providers' HTTP formats (form-encoded Twilio-style send, Graph-style JSON send) and
record what they received, so tests check what would have reached the customer.
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
    received: list[dict[str, Any]] = field(default_factory=list)
    # While set, every send answers this status (an outage).
    failing_status: int | None = None


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
            if provider.failing_status is not None:
                self._answer(provider.failing_status, {"error": "provider outage"})
                return
            counter["n"] += 1
            if parsed.path.endswith("/Messages.json"):
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                provider.received.append(
                    {"api": "sms", "form": form, "auth": self.headers.get("Authorization")}
                )
                self._answer(201, {"sid": f"SMfake{counter['n']}", "status": "queued"})
            elif parsed.path.endswith("/me/messages"):
                payload = json.loads(body)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                provider.received.append({"api": "social", "json": payload, "query": query})
                self._answer(
                    200, {"recipient_id": payload["recipient"]["id"], "message_id": f"m_fake{counter['n']}"}
                )
            else:
                self._answer(404, {"error": "unknown endpoint"})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
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
