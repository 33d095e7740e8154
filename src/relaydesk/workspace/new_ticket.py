"""/tickets/new: an agent opens a ticket for a customer (a phone call, a walk-in, an email sent elsewhere).

It is filed exactly as ``POST /api/v1/tickets`` files one (``tickets.service.file_ticket``), so it is
triaged and routed like any ticket that came in on a channel. The customer is named by an email
address or phone number (found, or created with the name given), or picked from a search.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, OptionalSessionAgent
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.errors import ValidationFailedError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, Priority
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS, CustomerRef, TicketCreate
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates
from relaydesk.workspace.people import customer_display_name

__all__ = ["CHANNELS", "router"]

router = APIRouter(include_in_schema=False)

# What an agent records a ticket as having come in on.
CHANNELS = (Channel.EMAIL, Channel.PHONE, Channel.SMS, Channel.SOCIAL, Channel.WEB_FORM, Channel.API)


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


@router.get("/tickets/new", response_class=HTMLResponse)
def new_ticket_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/tickets/new", status_code=303)
    return templates.TemplateResponse(
        request,
        "workspace/new_ticket.html",
        {
            "agent": agent,
            "csrf_token": _csrf(request),
            "channels": CHANNELS,
            "priorities": list(Priority),
            "teams": agents.list_teams(session),
        },
    )


@router.get("/tickets/new/customers", response_class=HTMLResponse)
def customer_search(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = customers.list_customers(session, cursor=None, limit=10, q=q.strip())[0] if q.strip() else []
    return templates.TemplateResponse(
        request,
        "workspace/_customer_matches.html",
        {"matches": [(c, customer_display_name(c)) for c in found], "q": q},
    )


def _customer_ref(customer_id: str, contact: str, name: str) -> CustomerRef:
    if customer_id.strip():
        if not customer_id.strip().isdigit() or len(customer_id.strip()) > 18:
            raise ValidationFailedError("Pick the customer from the search results again.")
        return CustomerRef(id=int(customer_id))
    contact = contact.strip()
    if not contact:
        raise ValidationFailedError(
            "Name the customer: an email address or phone number, or pick one from the search."
        )
    kind = IdentityKind.EMAIL if "@" in contact else IdentityKind.PHONE
    # Refused here with the reason (not an email, too few digits) rather than on submit of the ticket.
    customers.normalise_identity(kind, contact)
    return CustomerRef(kind=kind, value=contact, name=name.strip())


@router.post("/tickets/new")
def create_ticket(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: Annotated[str, Form(max_length=MESSAGE_BODY_MAX_CHARS)],
    subject: Annotated[str, Form(max_length=500)] = "",
    contact: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    customer_id: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[Channel, Form()] = Channel.EMAIL,
    priority: Annotated[Priority, Form()] = Priority.NORMAL,
    team_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if channel not in CHANNELS:
        raise ValidationFailedError(f"Choose the channel it came in on: {', '.join(CHANNELS)}.")
    if not body.strip():
        raise ValidationFailedError("Write what the customer asked (the first message).")
    team = team_id.strip()
    if team and (not team.isdigit() or len(team) > 18):
        raise ValidationFailedError("Choose a team from the list.")
    try:
        data = TicketCreate(
            subject=subject.strip(),
            body=body,
            customer=_customer_ref(customer_id, contact, name),
            channel=channel,
            priority=priority,
            team_id=int(team) if team else None,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ValidationFailedError(f"Check the form: {problems}.") from None
    ticket = tickets.file_ticket(session, data, tickets.Actor.of(principal))
    target = f"/tickets/{ticket.id}"
    if request.headers.get("hx-request"):
        return Response(status_code=201, headers={"HX-Redirect": target, "Location": target})
    return RedirectResponse(target, status_code=303)
