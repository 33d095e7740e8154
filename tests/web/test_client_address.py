"""The client address (rate limits, logs) comes from forwarded-for headers only when a configured proxy
sends them: a real ``relaydesk serve`` process, so the server's own proxy handling is what is tested."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def webhook_limit_of_three(monkeypatch):
    monkeypatch.setenv("RELAYDESK_WEBHOOK_RATE_PER_MINUTE", "3")


def _statuses_with_forged_addresses(url: str) -> list[int]:
    return [
        httpx.post(
            f"{url}/webhooks/phone", content=b"{}", headers={"X-Forwarded-For": f"203.0.113.{n}"}
        ).status_code
        for n in range(1, 6)
    ]


def test_a_forged_forwarded_for_does_not_change_the_rate_limited_address(webhook_limit_of_three, served):
    statuses = _statuses_with_forged_addresses(served.url)
    # Five addresses claimed from one loopback peer that is no configured proxy: one client, limited.
    assert statuses[3:] == [429, 429]
    assert 429 not in statuses[:3]


@pytest.fixture
def loopback_is_a_trusted_proxy(monkeypatch):
    monkeypatch.setenv("RELAYDESK_TRUSTED_PROXIES", '["127.0.0.1", "::1"]')


def test_a_configured_proxy_forwards_the_client_address(
    webhook_limit_of_three, loopback_is_a_trusted_proxy, served
):
    assert 429 not in _statuses_with_forged_addresses(served.url)
