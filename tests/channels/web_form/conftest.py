"""Fixtures for the contact form: the email channel's real SMTP servers (its replies leave by email) and
a full public-route budget per test (the form shares deflection's per-client limit)."""

from __future__ import annotations

from tests.channels.email.conftest import email_env, smtp_server, smtp_sink  # noqa: F401
from tests.deflection.conftest import _fresh_rate_limits  # noqa: F401
