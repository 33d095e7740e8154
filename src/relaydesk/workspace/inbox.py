"""The inbox: the agent's ticket list at ``/tickets`` with the built-in and saved views in a sidebar,
their counts kept live, and filters.

- ``GET /tickets``: the page (``?view=mine`` etc., or ``?saved=<id>``, plus filters; see ``views.py``).
- ``GET /tickets/rows``: the rows alone (htmx swaps them on a filter change or a live refresh; a
  ``cursor`` gives the next page, keyset-paginated by ``tickets.service.list_tickets``).
- ``GET /tickets/counts``: the sidebar with every view's count. The page refreshes it when the agent
  socket says a ticket changed (``relaydesk:inbox``, debounced in ``live.js``), not by polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import OptionalSessionAgent, principal_for
from relaydesk.auth.roles import Principal
from relaydesk.customers import service as customers
from relaydesk.kit.errors import BadRequestError, RelaydeskError
from relaydesk.kit.time import utcnow
from relaydesk.sla import service as sla
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, Priority, QueueKind, TicketSort, TicketStatus
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates
from relaydesk.workspace.views import (
    BuiltinView,
    InboxFilters,
    SavedViewOut,
    filters_from_query,
    list_views,
    ticket_filters,
)

__all__ = ["PAGE_SIZE", "ViewCount", "render_inbox", "router", "view_counts"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# The page's own query parameters beside the filters.
_PAGE_PARAMETERS = frozenset({"saved", "cursor"})


@dataclass(frozen=True)
class ViewCount:
    key: str  # "mine", ..., or "saved:<id>"
    label: str
    href: str
    count: int | None  # None: a saved view whose filters no longer validate
    saved_id: int | None = None


def _agent_team_ids(agent: Any) -> frozenset[int]:
    return frozenset(agent.team_ids)


def view_counts(
    session: Session, agent: Any, principal: Principal, saved: list[SavedViewOut]
) -> list[ViewCount]:
    """Every view of the sidebar with how many tickets it holds for this agent."""
    team_ids = _agent_team_ids(agent)
    out = [
        ViewCount(
            view.value,
            view.label,
            f"/tickets?view={view.value}",
            tickets.count_tickets(
                session, principal, ticket_filters(InboxFilters(view=view), agent.id, team_ids)
            ),
        )
        for view in BuiltinView
    ]
    for view in saved:
        count = (
            tickets.count_tickets(session, principal, ticket_filters(view.filters, agent.id, team_ids))
            if view.filters is not None
            else None
        )
        out.append(ViewCount(f"saved:{view.id}", view.name, f"/tickets?saved={view.id}", count, view.id))
    return out


def _selection(request: Request, session: Session, agent: Any) -> tuple[InboxFilters, SavedViewOut | None]:
    """The filters the request asks for: a saved view's (``?saved=<id>``), or the query string's."""
    saved_id = request.query_params.get("saved", "").strip()
    if not saved_id:
        return filters_from_query(request.query_params, besides=_PAGE_PARAMETERS), None
    if not saved_id.isdigit():
        raise BadRequestError("'saved' is the id of one of your saved views.")
    for view in list_views(session, agent.id):
        if view.id == int(saved_id):
            if view.filters is None:
                raise BadRequestError(f"The saved view '{view.name}' no longer applies: {view.problem}")
            return view.filters, view
    raise BadRequestError(f"You have no saved view {saved_id}; pick one from the sidebar.")


def _rows_context(
    session: Session, agent: Any, filters: InboxFilters, *, cursor: str | None
) -> dict[str, Any]:
    principal = principal_for(agent)
    rows, next_cursor = tickets.list_tickets(
        session,
        principal,
        ticket_filters(filters, agent.id, _agent_team_ids(agent)),
        cursor=cursor,
        limit=PAGE_SIZE,
        sort=filters.sort,
    )
    teams = agents.list_teams(session)
    more = urlencode([*filters.query(), ("cursor", next_cursor)]) if next_cursor else None
    return {
        "tickets": rows,
        "customers": customers.get_customers(session, {t.customer_id for t in rows}),
        "team_names": {t.id: t.name for t in teams},
        "more_query": more,
        "sla_due": _sla_countdowns(session, [t.id for t in rows]),
    }


def _sla_countdowns(session: Session, ticket_ids: list[int]) -> dict[int, tuple[str, bool]]:
    """Each ticket's nearest SLA due time as a countdown ("in 42m", "12m overdue") and whether it is late."""
    now = utcnow()
    countdowns = {}
    for ticket_id, due in sla.next_due(session, ticket_ids).items():
        minutes = int((due - now).total_seconds() // 60)
        hours, rest = divmod(abs(minutes), 60)
        span = f"{hours}h {rest}m" if hours else f"{rest}m"
        countdowns[ticket_id] = (f"in {span}" if minutes >= 0 else f"{span} overdue", minutes < 0)
    return countdowns


def render_inbox(
    request: Request,
    session: Session,
    agent: Any,
    filters: InboxFilters,
    *,
    saved: SavedViewOut | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    principal = principal_for(agent)
    saved_views = list_views(session, agent.id)
    data = getattr(request.state, "session_data", None)
    current = f"saved:{saved.id}" if saved is not None else filters.view.value
    context: dict[str, Any] = {
        "agent": agent,
        "csrf_token": data.csrf_token if data else "",
        "filters": filters,
        "filters_query": urlencode(filters.query()),
        "saved": saved,
        "current": current,
        "views": view_counts(session, agent, principal, saved_views),
        "teams": agents.list_teams(session),
        "statuses": list(TicketStatus),
        "priorities": list(Priority),
        "channels": [c for c in Channel if c is not Channel.INTERNAL],
        "queues": list(QueueKind),
        "sorts": list(TicketSort),
        "builtin_views": list(BuiltinView),
        "error": error,
    }
    if error is None:
        context.update(_rows_context(session, agent, filters, cursor=None))
    else:
        context.update({"tickets": [], "customers": {}, "team_names": {}, "more_query": None, "sla_due": {}})
    return templates.TemplateResponse(request, "workspace/inbox.html", context, status_code=status_code)


@router.get("/tickets", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/tickets", status_code=303)
    try:
        filters, saved = _selection(request, session, agent)
    except RelaydeskError as exc:
        return render_inbox(
            request, session, agent, InboxFilters(), error=exc.message, status_code=exc.status_code
        )
    return render_inbox(request, session, agent, filters, saved=saved)


@router.get("/tickets/rows", response_class=HTMLResponse)
def inbox_rows(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    try:
        filters, _ = _selection(request, session, agent)
        context = _rows_context(session, agent, filters, cursor=request.query_params.get("cursor") or None)
    except RelaydeskError as exc:
        return templates.TemplateResponse(
            request,
            "workspace/_inbox_error_row.html",
            {"error": exc.message},
            status_code=exc.status_code,
        )
    return templates.TemplateResponse(request, "workspace/_inbox_rows.html", context)


@router.get("/tickets/counts", response_class=HTMLResponse)
def inbox_counts(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    current = request.query_params.get("current", "all")[:40]
    data = getattr(request.state, "session_data", None)
    return templates.TemplateResponse(
        request,
        "workspace/_inbox_views.html",
        {
            "views": view_counts(session, agent, principal_for(agent), list_views(session, agent.id)),
            "current": current,
            "csrf_token": data.csrf_token if data else "",
        },
    )
