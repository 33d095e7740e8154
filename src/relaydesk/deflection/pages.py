"""Server-rendered pages: what the customer tried (on the agent's ticket page), the "did this solve
it?" page linked from email acknowledgements, and the agents' deflection report. The contact form is
a channel adapter: ``channels/web_form``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.auth.roles import Role
from relaydesk.deflection import reports, service
from relaydesk.deflection.enums import SessionSource
from relaydesk.kit.errors import NotFoundError, RelaydeskError
from relaydesk.kit.ids import MAX_ID, RecordId
from relaydesk.tickets.panels import ticket_panel
from relaydesk.web.deps import SessionDep
from relaydesk.web.public import public_guard
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


_SOURCES = {
    SessionSource.PUBLIC_API: "while typing (chat, in-app)",
    SessionSource.CONTACT_FORM: "in the contact form",
    SessionSource.EMAIL_ACK: "in the email acknowledgement",
    SessionSource.BOT: "in the bot's first answer",
    SessionSource.HELP_CENTER: "in the help center's search",
}
assert set(_SOURCES) == set(SessionSource), "every session source needs its label on the ticket page"


@ticket_panel
def tried_before(session: Session, ticket: Ticket) -> tuple[str, dict[str, Any]] | None:
    """The agent's ticket page: what the customer searched and which articles they saw, with their
    answers, so nobody suggests the same article again."""
    rows = service.sessions_for_ticket(session, ticket.id)
    if not rows:
        return None
    return "deflection/_ticket_panel.html", {"sessions": rows, "sources": _SOURCES}


@router.get("/help/feedback/{public_id}", response_class=HTMLResponse)
def feedback_page(
    public_id: str,
    request: Request,
    session: SessionDep,
    article_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """Linked from the email acknowledgement: asks, then records with a POST (links get prefetched)."""
    try:
        row = service.get_session(session, public_id)
    except NotFoundError:
        return HTMLResponse("<h1>This link is no longer valid.</h1>", status_code=404)
    article = next((a for a in row.articles if a.article_id == article_id and a.displayed), None)
    if article is None:
        return HTMLResponse("<h1>This link is no longer valid.</h1>", status_code=404)
    return templates.TemplateResponse(
        request,
        "deflection/feedback.html",
        {"agent": None, "public_id": public_id, "article": article, "done": None},
    )


@router.post("/help/feedback/{public_id}", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def feedback_submit(
    public_id: str,
    request: Request,
    session: SessionDep,
    article_id: Annotated[RecordId, Form()],
    outcome: Annotated[str, Form(pattern="^(solved|not_helpful)$")],
) -> Response:
    try:
        row = service.record_feedback(session, public_id, article_id, outcome)
    except RelaydeskError:
        return HTMLResponse("<h1>This link is no longer valid.</h1>", status_code=404)
    article = next(a for a in row.articles if a.article_id == article_id)
    return templates.TemplateResponse(
        request,
        "deflection/feedback.html",
        {
            "agent": None,
            "public_id": public_id,
            "article": article,
            "done": outcome,
            "has_ticket": row.ticket_id is not None,
            "locale": row.locale or "en",
            "question": row.queries[-1].text if row.queries else "",
        },
    )


def _report_context(request: Request, session: SessionDep, agent: object) -> dict[str, Any]:
    data = getattr(request.state, "session_data", None)
    return {
        "agent": agent,
        "csrf_token": data.csrf_token if data else "",
        "report": reports.deflection_report(session),
        "articles": reports.article_report(session)[:50],
    }


@router.get("/reports/deflection", response_class=HTMLResponse)
def report_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/reports/deflection", status_code=303)
    if not Role(agent.role).at_least(Role.LEAD):
        return HTMLResponse("<h1>Reports need the lead role or above.</h1>", status_code=403)
    return templates.TemplateResponse(
        request, "deflection/report.html", _report_context(request, session, agent)
    )


@router.get("/reports/deflection/gaps", response_class=HTMLResponse)
def report_gaps(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None or not Role(agent.role).at_least(Role.LEAD):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return templates.TemplateResponse(
        request, "deflection/_gaps.html", {"gaps": reports.gap_report(session, max_clusters=20)}
    )
