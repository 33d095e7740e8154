"""The signed-in agent's pending offers: a small panel on every page, Accept (assigns and opens the
ticket) and Decline (with a reason).

It works without the live socket: the panel polls ``GET /workspace/offers`` every few seconds, and
``offers.js`` refreshes it at once when the live script dispatches ``relaydesk:agent`` on ``document``
(offers, withdrawn offers, assignments). Accepting or declining an offer that is gone answers 409 with
the reason shown in the panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.auth.sessions import CSRF_HEADER
from relaydesk.customers import service as customers
from relaydesk.kit.errors import ConflictError, NotFoundError
from relaydesk.kit.ids import RecordId
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.agents.models import Agent

__all__ = ["offer_cards", "router"]

router = APIRouter(include_in_schema=False)

Reason = Annotated[str, Form(max_length=500)]
Token = Annotated[str, Form(max_length=100)]


def offer_cards(session: Session, agent_id: int) -> list[dict[str, Any]]:
    """What the panel shows of each pending offer: the ticket's subject, channel, customer and the
    seconds left before the offer runs out."""
    offers = routing.pending_offers(session, agent_id)
    found = {o.ticket_id: tickets.get_ticket(session, o.ticket_id) for o in offers}
    people = customers.get_customers(session, {t.customer_id for t in found.values() if t is not None})
    now = utcnow()
    cards = []
    for offer in offers:
        ticket = found[offer.ticket_id]
        if ticket is None:
            continue
        customer = people.get(ticket.customer_id)
        name = customer.name if customer is not None else ""
        expires = as_utc(offer.expires_at)
        cards.append(
            {
                "offer_id": offer.id,
                "ticket_id": ticket.id,
                "subject": ticket.subject or f"Ticket {ticket.id}",
                "channel": ticket.channel.value.replace("_", " "),
                "customer": name or f"Customer {ticket.customer_id}",
                "expires_at": expires.isoformat(),
                "seconds_left": max(0, int((expires - now).total_seconds())),
            }
        )
    return cards


def _csrf_ok(request: Request, form_token: str) -> bool:
    data = getattr(request.state, "session_data", None)
    token = request.headers.get(CSRF_HEADER) or form_token
    return data is not None and data.csrf_matches(token)


def _panel(
    request: Request, session: Session, agent: Agent, *, message: str = "", status_code: int = 200
) -> Response:
    return templates.TemplateResponse(
        request,
        "workspace/_offers.html",
        {"offers": offer_cards(session, agent.id), "message": message, "error": status_code >= 400},
        status_code=status_code,
    )


def _signed_out() -> Response:
    return Response(status_code=401, headers={"HX-Redirect": "/login"})


@router.get("/workspace/offers", response_class=HTMLResponse)
def offers_panel(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return _signed_out()
    return _panel(request, session, agent)


@router.post("/workspace/offers/{offer_id}/accept", response_class=HTMLResponse)
def accept(
    offer_id: RecordId,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    csrf_token: Token = "",
) -> Response:
    if agent is None:
        return _signed_out()
    if not _csrf_ok(request, csrf_token):
        return _panel(request, session, agent, message="The page is out of date: reload it.", status_code=403)
    try:
        ticket = routing.accept_offer(session, offer_id, agent)
    except NotFoundError as exc:
        return _panel(request, session, agent, message=exc.message, status_code=404)
    except ConflictError as exc:
        return _panel(request, session, agent, message=exc.message, status_code=409)
    target = f"/tickets/{ticket.id}"
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/workspace/offers/{offer_id}/decline", response_class=HTMLResponse)
def decline(
    offer_id: RecordId,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    reason: Reason = "",
    csrf_token: Token = "",
) -> Response:
    if agent is None:
        return _signed_out()
    if not _csrf_ok(request, csrf_token):
        return _panel(request, session, agent, message="The page is out of date: reload it.", status_code=403)
    try:
        routing.decline_offer(session, offer_id, agent, reason.strip())
    except NotFoundError as exc:
        return _panel(request, session, agent, message=exc.message, status_code=404)
    except ConflictError as exc:
        return _panel(request, session, agent, message=exc.message, status_code=409)
    return _panel(request, session, agent, message="Declined: the ticket goes to the next agent.")
