from __future__ import annotations

import pytest

from relaydesk.settings import reset_settings_cache
from tests.channels.fake_providers import start_fake_provider

SMS_TOKEN = "sms-auth-token-for-tests"
SOCIAL_SECRET = "social-app-secret-for-tests"
BASE_URL = "https://support.example.com"
PHONE_SECRET = "phone-webhook-secret-for-tests"


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
