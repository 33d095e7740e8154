"""REST routes of the routing domain (/api/v1/routing/...), mounted in relaydesk.app."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, RequireLead
from relaydesk.auth.roles import Principal
from relaydesk.kit.errors import PermissionDeniedError, ValidationFailedError
from relaydesk.kit.ids import RecordId
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.routing import service
from relaydesk.routing.schemas import (
    AgentLoadOut,
    DeclineIn,
    OfferOut,
    OfferOutcomesOut,
    QueueOut,
    ReassignIn,
    TicketPlaceOut,
)
from relaydesk.tickets import service as tickets
from relaydesk.tickets.schemas import TicketOut
from relaydesk.web.deps import SessionDep

if TYPE_CHECKING:
    from relaydesk.agents.models import Agent

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


def _agent(session: SessionDep, principal: Principal) -> Agent:
    if principal.agent_id is None:
        raise PermissionDeniedError(
            "Offers and pulls are an agent's: use an API token that acts for an agent."
        )
    return agents.get_agent(session, principal.agent_id)


@router.get("/offers", response_model=list[OfferOut])
def my_offers(session: SessionDep, principal: CurrentPrincipal) -> list[OfferOut]:
    """Your open offers, oldest first."""
    agent = _agent(session, principal)
    return [OfferOut.model_validate(o) for o in service.pending_offers(session, agent.id)]


@router.post("/offers/{offer_id}/accept", response_model=TicketOut)
def accept_offer(offer_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> TicketOut:
    """Take the offered ticket; 409 when the offer is no longer open or you are at capacity."""
    return TicketOut.model_validate(service.accept_offer(session, offer_id, _agent(session, principal)))


@router.post("/offers/{offer_id}/decline", response_model=OfferOut)
def decline_offer(
    offer_id: RecordId, session: SessionDep, principal: CurrentPrincipal, data: DeclineIn | None = None
) -> OfferOut:
    service.decline_offer(session, offer_id, _agent(session, principal), (data or DeclineIn()).reason)
    return OfferOut.model_validate(service.get_offer(session, offer_id))


@router.post("/next", response_model=TicketOut | None)
def next_ticket(session: SessionDep, principal: CurrentPrincipal) -> TicketOut | None:
    """Pull: take the best waiting ticket you may work; null when nothing fits."""
    ticket = service.next_ticket(session, _agent(session, principal))
    return TicketOut.model_validate(ticket) if ticket is not None else None


@router.get("/queues", response_model=list[QueueOut])
def queues(session: SessionDep, principal: RequireLead) -> list[QueueOut]:
    return [QueueOut(**asdict(q)) for q in service.queue_overview(session)]


@router.get("/agents", response_model=list[AgentLoadOut])
def loads(session: SessionDep, principal: RequireLead) -> list[AgentLoadOut]:
    return [AgentLoadOut(**asdict(a)) for a in service.agent_loads(session)]


@router.get("/offer-outcomes", response_model=OfferOutcomesOut)
def outcomes(
    session: SessionDep,
    principal: RequireLead,
    since: Annotated[datetime | None, Query(description="default: the last 24 hours")] = None,
) -> OfferOutcomesOut:
    if since is not None and since.tzinfo is None:
        raise ValidationFailedError("Give 'since' with a time zone, e.g. 2026-12-07T09:00:00Z.")
    start = as_utc(since) if since is not None else utcnow() - timedelta(hours=24)
    return OfferOutcomesOut(**asdict(service.offer_outcomes(session, start)))


@router.get("/tickets/{ticket_id}", response_model=TicketPlaceOut)
def ticket_place(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> TicketPlaceOut:
    """Where a ticket stands in its queue, and the expected wait."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    wait = service.expected_wait(session, ticket.id)
    return TicketPlaceOut(
        ticket_id=ticket.id,
        queue=ticket.queue,
        position=service.queue_position(session, ticket.id),
        expected_wait_seconds=wait.total_seconds() if wait is not None else None,
    )


@router.post("/tickets/{ticket_id}/reassign", response_model=TicketOut)
def reassign(ticket_id: RecordId, data: ReassignIn, session: SessionDep, principal: RequireLead) -> TicketOut:
    """A supervisor gives the ticket to another agent (any open offer is cancelled)."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    return TicketOut.model_validate(
        service.reassign(session, ticket, data.agent_id, tickets.Actor.of(principal))
    )
