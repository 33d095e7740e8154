"""Agents' sign-in sessions: a server-side record per sign-in, named by a signed cookie with a CSRF token.

The cookie alone proves nothing: every request reads the session row by its primary key, so logout,
"sign out everywhere", a password change, deactivation, idle time and the absolute age end a session
on the server at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from relaydesk.auth.models import AgentSession
from relaydesk.kit.compare import constant_time_equals
from relaydesk.kit.signing import InvalidTokenError, SignedTokens
from relaydesk.kit.time import utcnow

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SessionData",
    "SessionSigner",
    "find_live_session",
    "purge_ended_sessions",
    "revoke_agent_sessions",
    "revoke_session",
    "start_session",
]

SESSION_COOKIE = "relaydesk_session"
CSRF_HEADER = "X-CSRF-Token"
# Recording every request would turn each read into a write; idle time is measured to this precision.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionData:
    """What the cookie carries: the session's id and the CSRF token of its pages."""

    session_id: str
    csrf_token: str

    def csrf_matches(self, candidate: str | None) -> bool:
        return constant_time_equals(self.csrf_token, candidate)


class SessionSigner:
    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        self._tokens = SignedTokens(secret, "relaydesk.session")
        self.max_age_seconds = max_age_seconds

    def issue(self, session_id: str) -> tuple[str, SessionData]:
        data = SessionData(session_id, secrets.token_urlsafe(24))
        return self._tokens.dumps({"s": session_id, "c": data.csrf_token}), data

    def read(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._tokens.loads(cookie, max_age_seconds=self.max_age_seconds)
            return SessionData(str(raw["s"]), str(raw["c"]))
        except (InvalidTokenError, KeyError, TypeError, ValueError):
            return None


def start_session(
    session: Session, agent_id: int, *, lifetime: timedelta, user_agent: str = "", ip_address: str = ""
) -> AgentSession:
    now = utcnow()
    record = AgentSession(
        id=secrets.token_urlsafe(32),
        agent_id=agent_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=user_agent[:400],
        ip_address=ip_address[:64],
    )
    session.add(record)
    session.flush()
    return record


def find_live_session(session: Session, session_id: str, *, idle: timedelta) -> AgentSession | None:
    """The session if it is neither revoked, past its absolute age, nor idle too long (one key lookup)."""
    record = session.get(AgentSession, session_id)
    if record is None or record.revoked_at is not None:
        return None
    now = utcnow()
    if record.expires_at <= now or now - record.last_seen_at > idle:
        return None
    if now - record.last_seen_at > _TOUCH_EVERY:
        record.last_seen_at = now
    return record


def revoke_session(session: Session, session_id: str) -> None:
    record = session.get(AgentSession, session_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()


def revoke_agent_sessions(session: Session, agent_id: int) -> int:
    """End every live session of the agent (sign out everywhere); returns how many were live."""
    result = session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent_id, AgentSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_ended_sessions(session: Session, *, idle: timedelta, kept_for: timedelta) -> int:
    """Delete sessions that ended (revoked, past their age, or idle) longer than ``kept_for`` ago."""
    cutoff = utcnow() - kept_for
    result = session.execute(
        delete(AgentSession).where(
            or_(
                AgentSession.revoked_at < cutoff,
                AgentSession.expires_at < cutoff,
                AgentSession.last_seen_at < cutoff - idle,
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
