"""HTTP routes of the triage domain: what triage decided for a ticket, for the agent looking at it."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service as tickets
from relaydesk.triage import panel as _panel  # noqa: F401  (registers the ticket view's triage panel)
from relaydesk.triage import service
from relaydesk.triage.schemas import CorrectionOut, HeadPredictionOut, TriageOut
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["triage"])


@router.get("/tickets/{ticket_id}/triage", response_model=TriageOut)
def get_ticket_triage(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> TriageOut:
    """Predictions with confidences and model versions, impact, priority reasons, needs-triage heads."""
    # The ticket's own visibility rules: another team's restricted ticket answers 404.
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    record = service.triage_of(session, ticket.id)
    corrections = [
        CorrectionOut.model_validate(c, from_attributes=True)
        for c in service.corrections_of(session, ticket.id)
    ]
    if record is None:
        return TriageOut(ticket_id=ticket.id, triaged=False, corrections=corrections)
    return TriageOut(
        ticket_id=ticket.id,
        triaged=True,
        triaged_at=record.created_at,
        needs_triage=record.needs_triage,
        predictions={head: HeadPredictionOut(**p) for head, p in record.predictions.items()},
        language=record.language,
        language_confidence=record.language_confidence,
        sentiment=record.sentiment,
        sentiment_label=record.sentiment_label,
        priority=record.priority,
        priority_reasons=record.priority_reasons,
        impact=record.impact,
        corrections=corrections,
    )
