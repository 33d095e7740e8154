"""Publish once the transaction commits: a screen told about a change can always read it.

``publish_after_commit(session, channel, event)`` keeps the event on the session; when the session
commits the events go out (``fanout.publish_from_thread``), and when it rolls back they are dropped,
so nobody is ever told about a change that did not happen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from relaydesk.realtime.fanout import publish_from_thread

__all__ = ["publish_after_commit"]

_KEY = "relaydesk_publish_after_commit"


def publish_after_commit(session: Session, channel: str, payload: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((channel, payload))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for channel, payload in session.info.pop(_KEY, []):
        publish_from_thread(channel, payload)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
