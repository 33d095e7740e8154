"""Signed session cookies carrying the agent id, its session generation and a CSRF token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from relaydesk.kit.compare import constant_time_equals

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "SessionData", "SessionSigner"]

SESSION_COOKIE = "relaydesk_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class SessionData:
    agent_id: int
    generation: int
    csrf_token: str

    def csrf_matches(self, candidate: str | None) -> bool:
        return constant_time_equals(self.csrf_token, candidate)


class SessionSigner:
    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="relaydesk.session")
        self.max_age_seconds = max_age_seconds

    def issue(self, agent_id: int, generation: int) -> tuple[str, SessionData]:
        data = SessionData(agent_id, generation, secrets.token_urlsafe(24))
        cookie = self._serializer.dumps({"a": agent_id, "g": generation, "c": data.csrf_token})
        return cookie, data

    def read(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=self.max_age_seconds)
            return SessionData(int(raw["a"]), int(raw["g"]), str(raw["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
