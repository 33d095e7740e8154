"""REST routes of the escalation domain (/api/v1/tickets/{id}/escalations), mounted in relaydesk.app."""

from __future__ import annotations

from fastapi import APIRouter, status

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.auth.roles import Principal
from relaydesk.escalation import panel as _panel  # noqa: F401  (registers the ticket view's ladder panel)
from relaydesk.escalation import service
from relaydesk.escalation.schemas import DeEscalateIn, EscalateIn, EscalationOut
from relaydesk.kit.errors import PermissionDeniedError
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service as tickets
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}/escalations", tags=["escalation"])


def _visible(session: SessionDep, ticket_id: int, principal: Principal) -> int:
    # 404 for a ticket of a restricted team the caller is not part of, as for a missing one.
    return tickets.get_visible_ticket(session, ticket_id, principal).id


@router.get("", response_model=list[EscalationOut])
def list_escalations(
    ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> list[EscalationOut]:
    """The ticket's moves on the ladder, oldest first."""
    found = service.history(session, _visible(session, ticket_id, principal))
    return [EscalationOut.model_validate(e) for e in found]


@router.post("", response_model=EscalationOut, status_code=status.HTTP_201_CREATED)
def escalate(
    ticket_id: RecordId, data: EscalateIn, session: SessionDep, principal: CurrentPrincipal
) -> EscalationOut:
    """Escalate to the next level of the ticket's path, to ``to_level``, or sideways to ``to_team_id``,
    with a reason from the policy's list and a handoff note."""
    escalation = service.escalate(
        session,
        _visible(session, ticket_id, principal),
        to_level=data.to_level,
        to_team_id=data.to_team_id,
        reason=data.reason,
        note=data.note,
        actor=tickets.Actor.of(principal),
    )
    return EscalationOut.model_validate(escalation)


@router.post("/acknowledge", response_model=EscalationOut)
def acknowledge(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> EscalationOut:
    """The receiver picks the escalation up: 409 when nothing awaits it (or it was already), 403 for
    anyone but the receiver."""
    if principal.agent_id is None:
        raise PermissionDeniedError("The receiver acknowledges: use an API token that acts for an agent.")
    agent = agents.get_agent(session, principal.agent_id)
    escalation = service.acknowledge(session, _visible(session, ticket_id, principal), agent)
    return EscalationOut.model_validate(escalation)


@router.post("/de-escalate", response_model=EscalationOut, status_code=status.HTTP_201_CREATED)
def de_escalate(
    ticket_id: RecordId, data: DeEscalateIn, session: SessionDep, principal: CurrentPrincipal
) -> EscalationOut:
    """Send the ticket back down a level (or to ``to_level``) with a note; 409 at the bottom of its path."""
    escalation = service.de_escalate(
        session,
        _visible(session, ticket_id, principal),
        note=data.note,
        to_level=data.to_level,
        actor=tickets.Actor.of(principal),
    )
    return EscalationOut.model_validate(escalation)
