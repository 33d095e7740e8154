"""Jobs and inbound steps of the escalation domain (imported by ``jobs.discover_tasks``): the pickup
timer of an escalation, and the phrase rules' inbound step at order 10."""

from __future__ import annotations

from sqlalchemy.orm import Session

# Importing registers the ``phrase_rules`` policy kind and the inbound step at order 10.
from relaydesk.escalation import phrases as phrases
from relaydesk.escalation import service
from relaydesk.jobs import task

__all__ = ["check_pickup"]


@task(service.PICKUP_JOB, lane="live")
def check_pickup(session: Session, escalation_id: int) -> None:
    """Enqueued with ``run_at`` = the pickup target; an acknowledged or superseded escalation makes it
    a no-op, an unacknowledged one escalates to the next level."""
    service.check_pickup(session, escalation_id)
