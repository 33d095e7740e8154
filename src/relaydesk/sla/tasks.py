"""SLA's jobs: follow a ticket's events (``sla.follow_ticket``) and tick due clocks (``sla.tick``).

Importing this module (``discover_tasks`` does, in every worker and in the app) also registers SLA's
policy kinds and plugs the SLA due time into routing's queue order.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

import relaydesk.sla.policy  # noqa: F401  (registers business_hours and sla for `relaydesk policy check`)
from relaydesk.jobs import enqueue, periodic, task
from relaydesk.routing import service as routing
from relaydesk.sla import service

__all__ = ["follow_ticket", "tick", "tick_more"]

# At most this many batches per run; a backlog past it continues in a follow-up job at once.
_BATCHES_PER_RUN = 10
TICK_MORE_JOB = "sla.tick_more"

routing.set_due_time_source(service.due_time)


@task(service.FOLLOW_JOB)
def follow_ticket(session: Session, ticket_id: int) -> None:
    service.follow_ticket(session, ticket_id)


def _drain(session: Session) -> None:
    for _ in range(_BATCHES_PER_RUN):
        if service.tick(session).processed < service.TICK_BATCH:
            return
    enqueue(session, TICK_MORE_JOB)


@periodic("sla.tick", every=timedelta(seconds=30))
def tick(session: Session) -> None:
    _drain(session)


@task(TICK_MORE_JOB)
def tick_more(session: Session) -> None:
    _drain(session)
