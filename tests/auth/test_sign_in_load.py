"""argon2 runs off the event loop: a burst of sign-ins leaves every other request fast."""

from __future__ import annotations

import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import PASSWORD, make_agent

SIGN_INS = 24


def post_sign_in(url: str, email: str) -> int:
    with httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        return answer.status_code


def test_healthz_stays_fast_while_sign_ins_hash_passwords(database, served):
    agent = make_agent(database)
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [pool.submit(post_sign_in, served.url, agent.email) for _ in range(SIGN_INS)]
        pool.submit(lambda: [result.result() for result in results] and done.set())
        latencies: list[float] = []
        with httpx.Client(base_url=served.url, timeout=30) as probe:
            while not done.is_set():
                started = time.perf_counter()
                assert probe.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)
        statuses = [result.result() for result in results]
    assert statuses == [303] * SIGN_INS
    assert len(latencies) >= 5, "the sign-ins ended before /healthz was measured"
    # Each argon2 check takes tens of milliseconds of a core; on the event loop, /healthz would wait
    # behind every check queued before it (a median of about 0.25 s here, 24 sign-ins on 2 cores).
    assert statistics.median(latencies) < 0.1, latencies
    assert max(latencies) < 1.0, latencies
