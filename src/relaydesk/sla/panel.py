"""The SLA panel on the ticket view: each target's state and countdown (a ``tickets.panels`` panel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaydesk.sla import service
from relaydesk.tickets.panels import ticket_panel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.tickets.models import Ticket

__all__ = ["sla_clocks"]


@ticket_panel
def sla_clocks(session: Session, ticket: Ticket) -> tuple[str, dict[str, Any]] | None:
    """None while the ticket has no clock (no sla policy, or not followed yet)."""
    clocks = service.ticket_clocks(session, ticket.id)
    if not clocks:
        return None
    return "sla/_ticket_panel.html", {"clocks": clocks}
