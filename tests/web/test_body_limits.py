"""Request bodies are limited on the stream, per route, before authentication and parsing, against a
real server process whose memory is measured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.factories import make_agent, make_ticket

STREAM_BYTES = 512 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)
# What may be in flight past the limit when the server refuses: socket buffers on both sides.
IN_FLIGHT_BYTES = 16 * 1024 * 1024
MEMORY_GROWTH_LIMIT = 50 * 1024 * 1024
DEFAULT_LIMIT = 1024 * 1024  # RELAYDESK_MAX_REQUEST_BYTES
UPLOAD_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # RELAYDESK_MAX_UPLOAD_BYTES and the multipart framing


class ReadPastTheLimitError(AssertionError):
    pass


def _stream(limit: int, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    """512 MB, chunked (no Content-Length); fails once the server has taken far more than ``limit``."""
    sent = 0
    yield prefix
    while sent < STREAM_BYTES:
        if sent > limit + IN_FLIGHT_BYTES:
            raise ReadPastTheLimitError(f"the server read {sent} bytes without refusing ({limit} allowed)")
        yield CHUNK
        sent += len(CHUNK)
    yield suffix


def _multipart(limit: int) -> tuple[Iterator[bytes], str]:
    boundary = "relaydesk-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return _stream(limit, head, tail), f"multipart/form-data; boundary={boundary}"


def _post(url: str, body: Iterator[bytes], content_type: str, headers: dict[str, str] | None = None) -> int:
    with httpx.Client(timeout=60) as http:
        response = http.post(url, content=body, headers={"Content-Type": content_type, **(headers or {})})
    if response.status_code == 413:
        assert response.json()["error"]["code"] == "payload_too_large"
    return response.status_code


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _reset_peak_memory(pid: int) -> None:
    """From here on, VmHWM is the peak of what comes next (Linux: 5 to clear_refs resets it)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def test_streamed_bodies_past_the_limit_are_refused_without_the_server_holding_them(served, database):
    agent = make_agent(database)
    ticket_id = make_ticket(database)
    api = f"{served.url}/api/v1"
    attachments = f"{api}/tickets/{ticket_id}/messages/1/attachments"
    # Warm the routes (first-request imports and caches are not what this measures).
    assert httpx.post(f"{api}/tickets", json={}).status_code == 401
    assert httpx.post(f"{api}/tickets", json={}, headers=agent.headers).status_code == 422
    small_file = {"file": ("a.txt", b"a")}
    assert httpx.post(attachments, files=small_file, headers=agent.headers).status_code in (403, 404)
    before = _status_kib(served.pid, "VmRSS")
    _reset_peak_memory(served.pid)

    json_ = "application/json"
    assert _post(f"{api}/tickets", _stream(DEFAULT_LIMIT), json_) == 413  # no credentials
    assert _post(f"{api}/tickets", _stream(DEFAULT_LIMIT), json_, agent.headers) == 413
    assert _post(f"{served.url}/login", _stream(DEFAULT_LIMIT), "application/x-www-form-urlencoded") == 413
    assert _post(f"{api}/customers", _stream(DEFAULT_LIMIT), json_, agent.headers) == 413
    upload, multipart = _multipart(UPLOAD_LIMIT)
    assert _post(attachments, upload, multipart, agent.headers) == 413
    upload, multipart = _multipart(DEFAULT_LIMIT)
    assert _post(f"{api}/tickets", upload, multipart) == 413  # a file where none is taken: the default
    with ThreadPoolExecutor(4) as pool:
        parallel = [pool.submit(_post, f"{api}/tickets", _stream(DEFAULT_LIMIT), json_) for _ in range(4)]
        assert [future.result() for future in parallel] == [413] * 4

    growth = _status_kib(served.pid, "VmHWM") - before
    assert growth < MEMORY_GROWTH_LIMIT, f"the server grew by {growth // 1024} KiB"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(client):
    response = client.post(
        "/api/v1/tickets", content=b"x" * (DEFAULT_LIMIT + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "1048576-byte limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("size", [DEFAULT_LIMIT - 1024, DEFAULT_LIMIT + 1])
def test_the_limit_counts_a_chunked_body_exactly(client, size):
    # Unauthenticated and not JSON: under the limit the route answers (401 or 422); over it, 413.
    response = client.post(
        "/api/v1/tickets", content=iter([b"x" * size]), headers={"Content-Type": "application/json"}
    )
    assert (response.status_code == 413) == (size > DEFAULT_LIMIT)


def test_a_websocket_message_over_the_limit_closes_the_socket(served, demo_site):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from relaydesk.channels.chat.pages import DEMO_SITE_KEY

    visitor = httpx.get(f"{served.url}/chat/v1/conversation", headers={"X-Relaydesk-Site-Key": DEMO_SITE_KEY})
    token = visitor.json()["visitor_token"]
    query = f"site_key={DEMO_SITE_KEY}&visitor_token={token}"
    url = served.url.replace("http://", "ws://") + f"/chat/v1/ws?{query}"
    with connect(url, origin="http://127.0.0.1:8000", max_size=None) as socket:
        ready = json.loads(socket.recv(timeout=10))
        assert ready["type"] == "ready", ready
        socket.send("x" * (DEFAULT_LIMIT + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # message too big, before the app buffers or parses it
