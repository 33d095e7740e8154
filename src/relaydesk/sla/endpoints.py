"""HTTP routes of SLA: a ticket's clocks, for the agent looking at it."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.kit.ids import RecordId
from relaydesk.sla import panel as _panel  # noqa: F401  (registers the ticket view's SLA panel)
from relaydesk.sla import service
from relaydesk.sla.schemas import ClockOut
from relaydesk.tickets import service as tickets
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["sla"])


@router.get("/tickets/{ticket_id}/sla", response_model=list[ClockOut])
def get_ticket_sla(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> list[ClockOut]:
    """Each SLA target of the ticket: its state, due time, business time counted and left."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)  # another team's restricted: 404
    return service.ticket_clocks(session, ticket.id)
