"""Fixtures for the status page: the email channel's real SMTP sink (updates leave by email) and a full
public-route budget per test (the page shares the public routes' per-client limit)."""

from __future__ import annotations

from tests.channels.email.conftest import email_env, smtp_sink  # noqa: F401
from tests.deflection.conftest import _fresh_rate_limits  # noqa: F401
