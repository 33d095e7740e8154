"""API tokens: stored as a SHA-256 of a high-entropy secret, scoped, revocable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.auth.roles import Role
from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["ApiToken"]


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
