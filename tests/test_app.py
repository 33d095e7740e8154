"""The app's own routes: liveness and readiness for load balancers."""

from __future__ import annotations


def test_health_and_readiness(client, database):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["migrations"] == "ok"
