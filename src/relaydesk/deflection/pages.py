"""Server-rendered pages: the help-center contact form (suggestions before submit), the "did this
solve it?" page linked from email acknowledgements, and the agents' deflection report."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.auth.roles import Role
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.identities import normalise_identity
from relaydesk.deflection import reports, service
from relaydesk.deflection.enums import SessionSource
from relaydesk.deflection.limits import public_guard
from relaydesk.kit.errors import NotFoundError, RelaydeskError, ValidationFailedError
from relaydesk.kit.ids import MAX_ID, RecordId
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.pages import ticket_panel
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_TOKEN = r"^[A-Za-z0-9_-]{8,40}$"


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


# The knowledge base's help center owns /help/{locale}; the contact form lives beside its articles.
_LOCALE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


def _locale(locale: str) -> str:
    locale = locale.lower()
    if not _LOCALE.match(locale):
        raise NotFoundError(f"No help center for {locale[:16]!r}; use a locale such as 'en'.")
    return locale


def _contact_page(request: Request, locale: str, *, status_code: int = 200, **values: Any) -> Response:
    context: dict[str, Any] = {
        "agent": None,
        "locale": locale,
        "error": None,
        "name": "",
        "email": "",
        "subject": "",
        "question": "",
        "session_id": "",
        "submission_id": secrets.token_urlsafe(18),
    }
    context.update(values)
    return templates.TemplateResponse(request, "deflection/contact.html", context, status_code=status_code)


@router.get("/help/contact")
def contact_default() -> Response:
    # Reached only when this router is mounted before the help center's /help/{locale}.
    return RedirectResponse("/help/en/contact", status_code=303)


@router.get("/help/{locale}/contact", response_class=HTMLResponse)
def contact_form(locale: str, request: Request) -> Response:
    # From a help-center search: ?q= carries the question, so the customer does not type it twice, and
    # ?s= its session, so the ticket this form opens is linked to what the customer tried there.
    question = (request.query_params.get("q") or "").strip()[:20_000]
    session_id = request.query_params.get("s") or ""
    session_id = session_id if re.match(_TOKEN, session_id) else ""
    return _contact_page(request, _locale(locale), question=question, session_id=session_id)


@router.post("/help/{locale}/contact", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def submit_contact(
    locale: str,
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    question: Annotated[str, Form(max_length=20_000)],
    submission_id: Annotated[str, Form(pattern=_TOKEN)],
    name: Annotated[str, Form(max_length=200)] = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    session_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Open a ticket through the channels intake; the suggestion session links to it (escalated)."""
    locale = _locale(locale)
    values = {
        "name": name,
        "email": email,
        "subject": subject,
        "question": question,
        "session_id": session_id,
        "submission_id": submission_id,
    }
    try:
        address = normalise_identity(IdentityKind.EMAIL, email)
    except ValidationFailedError:
        return _contact_page(
            request,
            locale,
            status_code=422,
            error="Please enter an email address we can answer you at.",
            **values,
        )
    if not question.strip():
        return _contact_page(
            request, locale, status_code=422, error="Please describe your question.", **values
        )
    result = ingest(
        session,
        InboundMessage(
            channel=Channel.WEB_FORM,
            identity_kind=IdentityKind.EMAIL,
            identity_value=address,
            # Anyone can type any address into the form: a new ticket, never someone's open one.
            identity_proven=False,
            text=question.strip(),
            # The form's one-time id: a double submit (or a browser retry) is the same message.
            provider_message_id=f"contact-form:{submission_id}",
            display_name=name.strip(),
            subject=subject.strip(),
        ),
    )
    if session_id:
        try:
            row = service.get_session(session, session_id)
        except NotFoundError:
            row = None
        ticket = session.get(Ticket, result.ticket_id)
        if row is not None and ticket is not None:
            service.link_session_to_ticket(session, row, ticket)
    return templates.TemplateResponse(
        request,
        "deflection/contact_sent.html",
        {"agent": None, "ticket_id": result.ticket_id, "locale": locale},
    )


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
