"""Fixtures for the contact form: the email channel's real SMTP servers (its replies leave by email)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relaydesk.web.public import reset_limiter
from tests.channels.email.conftest import email_env, smtp_server, smtp_sink  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # The public routes' per-client budget is kept per process: each test starts with a full one.
    reset_limiter()
    yield
    reset_limiter()
