"""Server-rendered ticket list for agents (HTMX refreshes the rows); the ticket view is the workspace's."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import OptionalSessionAgent, principal_for
from relaydesk.customers import service as customers
from relaydesk.tickets import service
from relaydesk.tickets.enums import Priority, TicketStatus
from relaydesk.tickets.repository import TicketFilters
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _context(request: Request, session: SessionDep, agent: object) -> dict[str, object]:
    principal = principal_for(agent)
    params = request.query_params
    status = params.get("status") or None
    priority = params.get("priority") or None
    team_id = _int_or_none(params.get("team_id"))
    filters = TicketFilters(
        status=[TicketStatus(status)] if status and status in set(TicketStatus) else None,
        priority=[Priority(priority)] if priority and priority in set(Priority) else None,
        team_id=team_id,
    )
    tickets, _ = service.list_tickets(session, principal, filters, cursor=None, limit=100)
    teams = agents.list_teams(session)
    data = getattr(request.state, "session_data", None)
    return {
        "agent": agent,
        "csrf_token": data.csrf_token if data else "",
        "tickets": tickets,
        "customers": customers.get_customers(session, {t.customer_id for t in tickets}),
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "statuses": list(TicketStatus),
        "priorities": list(Priority),
        "filters": {"status": status, "priority": priority, "team_id": team_id},
    }


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/tickets", status_code=303)
    return templates.TemplateResponse(request, "tickets/list.html", _context(request, session, agent))


@router.get("/tickets/rows", response_class=HTMLResponse)
def ticket_rows(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return templates.TemplateResponse(request, "tickets/_rows.html", _context(request, session, agent))
