"""The triage panel on the agent's ticket view: what triage decided and why (a ``tickets.panels`` panel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaydesk.tickets import service as tickets
from relaydesk.tickets.panels import ticket_panel
from relaydesk.triage.repository import TriageRepository

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.tickets.models import Ticket

__all__ = ["triage_result"]


@ticket_panel
def triage_result(session: Session, ticket: Ticket) -> tuple[str, dict[str, Any]] | None:
    """Category (with confidence), team, priority with its reasons, the details collected from the
    customer, and what is still for a person to decide; None until the ticket was triaged."""
    repo = TriageRepository(session)
    record = repo.for_ticket(ticket.id)
    if record is None:
        return None
    collected: dict[str, Any] = {}
    for event in tickets.events_of_kind(session, ticket.id, "triage.fields_collected"):
        collected.update(event.data.get("fields") or {})
    return "triage/_ticket_panel.html", {
        "record": record,
        "predictions": record.predictions,
        "collected": collected,
        "corrections": list(repo.corrections_for_ticket(ticket.id)),
    }
