"""Jobs of the routing domain: route a ready ticket, expire an offer, and the periodic sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from relaydesk.jobs import periodic, task
from relaydesk.routing import service

__all__ = ["expire_offer", "route_ticket", "sweep"]


@task("routing.route_ticket", lane="live")
def route_ticket(session: Session, ticket_id: int) -> None:
    """Enqueued by triage (``mark_ready_for_routing``) once a ticket is ready for a person."""
    service.route_ticket(session, ticket_id)


@task(service.EXPIRE_OFFER_JOB, lane="live")
def expire_offer(session: Session, offer_id: int) -> None:
    """Enqueued with ``run_at`` = the offer's expiry; a decided offer makes it a no-op."""
    service.expire_offer(session, offer_id)


@periodic("routing.sweep", every=timedelta(seconds=15), lane="live")
def sweep(session: Session) -> None:
    """Overflow, reclaim on inaction, and another try for waiting tickets nobody could take."""
    service.sweep(session)
