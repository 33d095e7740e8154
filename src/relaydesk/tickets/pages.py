"""Server-rendered ticket view for agents (the ticket list is the workspace inbox)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents.dependencies import OptionalSessionAgent, principal_for
from relaydesk.customers import service as customers
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service
from relaydesk.tickets.panels import panels
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/tickets/{ticket_id:int}", response_class=HTMLResponse)
def ticket_detail(
    ticket_id: RecordId, request: Request, session: SessionDep, agent: OptionalSessionAgent
) -> Response:
    if agent is None:
        return RedirectResponse(f"/login?next=/tickets/{ticket_id}", status_code=303)
    try:
        ticket = service.get_visible_ticket(session, ticket_id, principal_for(agent))
    except NotFoundError:
        return HTMLResponse(
            "<h1>Not found</h1><p><a href='/tickets'>Back to tickets</a></p>", status_code=404
        )
    data = getattr(request.state, "session_data", None)
    return templates.TemplateResponse(
        request,
        "tickets/detail.html",
        {
            "agent": agent,
            "csrf_token": data.csrf_token if data else "",
            "ticket": ticket,
            "customer": customers.get_customer(session, ticket.customer_id),
            "messages": service.list_messages(session, ticket),
            "panels": [shown for panel in panels() if (shown := panel(session, ticket)) is not None],
        },
    )
