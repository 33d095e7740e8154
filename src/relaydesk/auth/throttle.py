"""Sign-in throttling kept in the database, so it holds across server processes.

Each key (``account:<email>``, ``address:<ip>``) counts wrong passwords. At the policy's maximum the key
is blocked, each block twice as long as the one before up to a ceiling; a blocked key is refused before
any password is hashed, so an attacker cannot spend the server's CPU on it either. An account's count
is cleared by a correct password or an admin's unlock; an address's count lapses after a quiet window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from relaydesk.auth.models import LoginThrottle
from relaydesk.kit.time import utcnow

__all__ = [
    "ThrottlePolicy",
    "account_key",
    "address_key",
    "blocked_until",
    "clear",
    "purge_quiet",
    "record_failure",
]


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    block: timedelta
    max_block: timedelta
    # Failures older than this (after the last block ended) are forgotten; None: only a clear forgets.
    window: timedelta | None = None


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


def blocked_until(session: Session, key: str) -> datetime | None:
    """When the key's block ends, or None if it may try now."""
    row = session.get(LoginThrottle, key)
    if row is None or row.blocked_until is None or row.blocked_until <= utcnow():
        return None
    return row.blocked_until


def record_failure(session: Session, key: str, policy: ThrottlePolicy) -> datetime | None:
    """Count one wrong password; returns when the block it caused ends, if it caused one."""
    row = _locked_row(session, key)
    now = utcnow()
    quiet_since = max(filter(None, (row.last_failure_at, row.blocked_until)), default=None)
    if policy.window is not None and quiet_since is not None and now - quiet_since > policy.window:
        row.failures, row.block_count = 0, 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures < policy.max_failures:
        return None
    row.blocked_until = now + min(policy.block * 2**row.block_count, policy.max_block)
    row.block_count += 1
    row.failures = 0
    return row.blocked_until


def clear(session: Session, key: str) -> bool:
    """Forget the key's failures and lift its block; True if it was blocked."""
    was_blocked = blocked_until(session, key) is not None
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    return was_blocked


def purge_quiet(session: Session, *, quiet_for: timedelta) -> int:
    """Forget keys with no failure and no block for ``quiet_for``; returns how many were deleted."""
    cutoff = utcnow() - quiet_for
    result = session.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < cutoff),
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < cutoff),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _locked_row(session: Session, key: str) -> LoginThrottle:
    # Insert-if-missing then lock the row, so concurrent failures for one key are all counted.
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, block_count=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
