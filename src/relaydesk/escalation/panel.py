"""The escalation panel on the agent's ticket view: the path, where the ticket stands on it, the pickup
it awaits and the history of moves (a ``tickets.panels`` panel; the forms post to the workspace)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaydesk.agents import service as agents
from relaydesk.escalation import service
from relaydesk.tickets.panels import ticket_panel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.tickets.models import Ticket

__all__ = ["escalation_ladder"]


@ticket_panel
def escalation_ladder(session: Session, ticket: Ticket) -> tuple[str, dict[str, Any]] | None:
    """None while no escalation path is configured."""
    ladder = service.ladder(session, ticket)
    if ladder.path is None and not ladder.history:
        return None
    return "escalation/_ticket_panel.html", {
        "ladder": ladder,
        "team_names": {t.id: t.name for t in agents.list_teams(session)},
        "agent_names": {a.id: a.name for a in agents.list_agents(session)},
    }
