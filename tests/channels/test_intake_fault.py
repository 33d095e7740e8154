"""Fault test: the server is SIGKILLed and restarted in the middle of a webhook burst.

The sender behaves like a provider: it retries a message until it gets a 200. Afterwards exactly one
stored message exists per provider message id: none lost (acknowledged only after commit) and none
twice (the provider id makes retries harmless).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from relaydesk.channels.sms import sms_signature
from relaydesk.tickets.models import Message
from tests.factories import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fault-test-sms-token"
BASE_URL = "https://support.example.com"
MESSAGES = 1000
KILL_AFTER = 300


def _start(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_SMS_AUTH_TOKEN": TOKEN,
        "RELAYDESK_BASE_URL": BASE_URL,
        "RELAYDESK_WEBHOOK_RATE_PER_MINUTE": "1000000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "relaydesk.cli", "serve", "--no-worker", "--no-migrate", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _request(index: int) -> tuple[bytes, dict[str, str]]:
    params = {
        "MessageSid": f"SMfault{index:05d}",
        "From": f"+1415555{index % 50:04d}",
        "To": "+15005550006",
        "Body": f"message {index}",
        "NumMedia": "0",
    }
    signature = sms_signature(TOKEN, f"{BASE_URL}/webhooks/sms", sorted(params.items()))
    return urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }


@pytest.mark.slow
def test_killed_server_mid_burst_loses_and_duplicates_nothing(database, database_url, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    server = {"proc": _start(database_url, port, log)}
    acknowledged = 0
    retries = 0

    def kill_and_restart() -> None:
        server["proc"].send_signal(signal.SIGKILL)
        server["proc"].wait()
        time.sleep(0.5)
        server["proc"] = _start(database_url, port, log)

    killer: threading.Thread | None = None
    deadline = time.monotonic() + 240
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for index in range(MESSAGES):
                body, headers = _request(index)
                while True:
                    assert time.monotonic() < deadline, (
                        f"burst did not finish; log:\n{log.read_text()[-2000:]}"
                    )
                    try:
                        if http.post("/webhooks/sms", content=body, headers=headers).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    retries += 1
                    time.sleep(0.05)
                acknowledged += 1
                if acknowledged == KILL_AFTER:
                    # Kill while requests keep flowing: some are in flight when the process dies.
                    killer = threading.Thread(target=kill_and_restart)
                    killer.start()
    finally:
        if killer is not None:
            killer.join()
        server["proc"].terminate()
        server["proc"].wait(timeout=30)

    assert retries > 0, "the kill should have made the sender retry at least once"
    with database.transaction(read_only=True) as session:
        stored = session.scalar(select(func.count()).select_from(Message))
        distinct = session.scalar(select(func.count(func.distinct(Message.provider_message_id))))
    assert stored == MESSAGES
    assert distinct == MESSAGES
