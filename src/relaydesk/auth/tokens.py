"""Create, verify and revoke API tokens (format ``rd_<prefix>_<secret>``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.auth.models import ApiToken
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.time import utcnow

__all__ = ["ALL_SCOPES", "CreatedToken", "create_token", "find_active_token", "revoke_token"]

ALL_SCOPES = frozenset({"read", "write"})


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    plaintext: str


def _digest(plaintext: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    name: str,
    role: Role,
    scopes: frozenset[str] = ALL_SCOPES,
    agent_id: int | None = None,
    team_ids: list[int] | None = None,
    expires_at: datetime | None = None,
) -> CreatedToken:
    unknown = set(scopes) - ALL_SCOPES
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}; choose from {sorted(ALL_SCOPES)}")
    prefix = secrets.token_hex(4)
    plaintext = f"rd_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name,
        prefix=prefix,
        token_hash=_digest(plaintext),
        role=role,
        scopes=sorted(scopes),
        agent_id=agent_id,
        team_ids=sorted(team_ids or []),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return CreatedToken(token=token, plaintext=plaintext)


def find_active_token(session: Session, plaintext: str) -> ApiToken | None:
    if not plaintext.startswith("rd_"):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    return token


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"No API token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
