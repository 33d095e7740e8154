from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from relaydesk.channels import webhooks
from relaydesk.channels.sms import sms_signature
from relaydesk.channels.social import social_signature
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.models import Message, Ticket
from tests.channels.fake_providers import start_fake_provider

SMS_TOKEN = "sms-auth-token-for-tests"
SOCIAL_SECRET = "social-app-secret-for-tests"
BASE_URL = "https://support.example.com"
PHONE_SECRET = "phone-webhook-secret-for-tests"
PHONE = "+14155550123"


@pytest.fixture
def provider(monkeypatch):
    fake, server = start_fake_provider()
    for name, value in {
        "RELAYDESK_BASE_URL": BASE_URL,
        "RELAYDESK_SMS_AUTH_TOKEN": SMS_TOKEN,
        "RELAYDESK_SMS_ACCOUNT_SID": "ACtest",
        "RELAYDESK_SMS_FROM_NUMBER": "+15005550006",
        "RELAYDESK_SMS_API_BASE": fake.url,
        "RELAYDESK_SOCIAL_APP_SECRET": SOCIAL_SECRET,
        "RELAYDESK_SOCIAL_VERIFY_TOKEN": "verify-me",
        "RELAYDESK_SOCIAL_PAGE_TOKEN": "page-token",
        "RELAYDESK_SOCIAL_API_BASE": fake.url,
        "RELAYDESK_PHONE_WEBHOOK_SECRET": PHONE_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    yield fake
    server.shutdown()
    reset_settings_cache()


def reply_text(sent: str) -> str:
    """What an agent wrote, without the status-page line the outbox adds to SMS and social updates."""
    text, _, link = sent.partition("\n\nStatus and replies: ")
    assert link.startswith(f"{BASE_URL}/status/"), f"no status-page link in {sent!r}"
    return text


def send_sms(client, body="My order never came", sid="SM0001", token=SMS_TOKEN, sender=PHONE):
    params = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = sms_signature(token, f"{BASE_URL}/webhooks/sms", sorted(params.items()))
    return client.post(
        "/webhooks/sms",
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )


SENDERS = 8
PER_SENDER = 10


def send_social(client, body: bytes, secret=SOCIAL_SECRET):
    return client.post(
        "/webhooks/social",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": social_signature(secret, body)},
    )


@pytest.fixture
def unlimited_rates(monkeypatch):
    # The burst is the point of the test; the per-client rate limits have tests of their own.
    monkeypatch.setenv("RELAYDESK_CHAT_MESSAGES_PER_MINUTE", "100000")
    monkeypatch.setenv("RELAYDESK_CHAT_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("RELAYDESK_WEBHOOK_RATE_PER_MINUTE", "100000")
    # The webhook limiter is made once per process, from the settings of the first request.
    monkeypatch.setattr(webhooks, "_limiter", None)
    reset_settings_cache()
    yield
    reset_settings_cache()


def in_parallel(senders: int, per_sender: int, post: Callable[[int, int], int]) -> list[int]:
    """Run ``post(sender, n)`` from ``senders`` threads that start together; answer the status codes."""
    start = threading.Barrier(senders)

    def sender(index: int) -> list[int]:
        start.wait()
        return [post(index, n) for n in range(per_sender)]

    with ThreadPoolExecutor(senders) as pool:
        return [code for codes in pool.map(sender, range(senders)) for code in codes]


def intake_counts(database) -> dict[str, int]:
    with database.transaction(read_only=True) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in {
                "tickets": Ticket,
                "messages": Message,
                "customers": Customer,
                "identities": CustomerIdentity,
            }.items()
        }
