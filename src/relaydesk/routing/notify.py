"""Realtime publishes that wait for the transaction: an offer toast must never show for an offer that
rolled back. Services queue events on the session; they go out after it commits, and are dropped
when it rolls back (best effort, like every publish: screens reload from the database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from relaydesk.realtime.fanout import publish_from_thread

__all__ = ["after_commit", "agent_channel"]

_KEY = "relaydesk_routing_publish"


def agent_channel(agent_id: int) -> str:
    """The channel an agent's workspace listens on (offers, assignments, reclaims)."""
    return f"agent:{agent_id}"


def after_commit(session: Session, channel: str, payload: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((channel, payload))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for channel, payload in session.info.pop(_KEY, []):
        publish_from_thread(channel, payload)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
