"""Panels on the agent's ticket page: the extension point other domains register on (public).

What other domains show beside a ticket's timeline (e.g. deflection: what the customer tried first).
A panel is ``fn(session, ticket) -> (template, context)``, or None when it has nothing to show; the
template reads its context as ``panel``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.tickets.models import Ticket

__all__ = ["TicketPanel", "panels", "ticket_panel"]

TicketPanel = Callable[["Session", "Ticket"], tuple[str, dict[str, Any]] | None]
_panels: list[TicketPanel] = []


def ticket_panel(fn: TicketPanel) -> TicketPanel:
    """Register a panel for the agent's ticket page (in import order)."""
    if fn not in _panels:
        _panels.append(fn)
    return fn


def panels() -> list[TicketPanel]:
    """The registered panels, in registration order."""
    return list(_panels)
