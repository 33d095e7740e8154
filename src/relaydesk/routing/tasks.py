"""Jobs of the routing domain: route a ready ticket, expire an offer, follow a changed ticket or
customer, and the periodic sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from relaydesk.customers import service as customers
from relaydesk.jobs import periodic, task
from relaydesk.routing import service
from relaydesk.tickets import service as tickets

__all__ = ["expire_offer", "follow_customer", "follow_ticket", "route_ticket", "sweep"]


@task("routing.route_ticket", lane="live")
def route_ticket(session: Session, ticket_id: int) -> None:
    """Enqueued by triage (``mark_ready_for_routing``) once a ticket is ready for a person."""
    service.route_ticket(session, ticket_id)


@task(service.EXPIRE_OFFER_JOB, lane="live")
def expire_offer(session: Session, offer_id: int) -> None:
    """Enqueued with ``run_at`` = the offer's expiry; a decided offer makes it a no-op."""
    service.expire_offer(session, offer_id)


@task(tickets.ROUTING_FOLLOW_JOB, lane="live")
def follow_ticket(session: Session, ticket_id: int) -> None:
    """Enqueued by tickets when a routed ticket's routing facts change: the queue follows the ticket."""
    service.follow_ticket(session, ticket_id)


@task(customers.ROUTING_TIER_JOB, lane="live")
def follow_customer(session: Session, customer_id: int) -> None:
    """Enqueued by customers when a customer's tier changes: their waiting tickets are re-ordered."""
    service.follow_customer(session, customer_id)


@periodic("routing.sweep", every=timedelta(seconds=15), lane="live")
def sweep(session: Session) -> None:
    """Overflow, reclaim on inaction, and another try for waiting tickets nobody could take."""
    service.sweep(session)
