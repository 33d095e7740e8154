"""Tables of auth: API tokens (a SHA-256 of a high-entropy secret, scoped, revocable), agents' sign-in
sessions (the server-side record a session cookie names), and sign-in throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.auth.roles import Role
from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["AgentSession", "ApiToken", "LoginThrottle"]


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(200))
    # The first characters of the token, shown in listings so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Tokens acting for an agent inherit that agent's teams for restricted-ticket checks.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    team_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AgentSession(Base):
    """One sign-in: the cookie carries its (signed) id; every request reads this row by primary key."""

    __tablename__ = "agent_sessions"

    # 256 random bits; the cookie that carries it is signed too, so a leaked row alone forges nothing.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class LoginThrottle(Base):
    """Wrong passwords counted for one key (``account:<email>`` or ``address:<ip>``), and its block."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]
    # How many blocks so far: each one lasts twice as long as the one before (up to a maximum).
    block_count: Mapped[int] = mapped_column(Integer, default=0)
