"""Jobs of the tickets domain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.jobs import periodic
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import StatusChange
from relaydesk.tickets.service import change_status

__all__ = ["AUTO_CLOSE_AFTER", "close_resolved_tickets"]

# A resolved ticket the customer did not answer becomes final after this long.
AUTO_CLOSE_AFTER = timedelta(days=4)


@periodic("tickets.close_resolved", every=timedelta(minutes=10))
def close_resolved_tickets(session: Session, *, batch: int = 500) -> int:
    cutoff = utcnow() - AUTO_CLOSE_AFTER
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at < cutoff)
        .order_by(Ticket.resolved_at)
        .limit(batch)
    ).all()
    for ticket in tickets:
        change_status(
            session,
            ticket,
            StatusChange(status=TicketStatus.CLOSED, reason=f"resolved for {AUTO_CLOSE_AFTER.days} days"),
            Actor(AuthorKind.SYSTEM),
        )
    return len(tickets)
