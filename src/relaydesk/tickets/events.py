"""Writing the append-only ticket timeline, always in the transaction of the change it records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.models import Ticket, TicketEvent

__all__ = ["Actor", "record_event"]


@dataclass(frozen=True)
class Actor:
    kind: AuthorKind
    id: int | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        if principal.agent_id is not None:
            return cls(AuthorKind.AGENT, principal.agent_id)
        # A token that acts for no agent is an integration: recorded as the system, with its id.
        return cls(AuthorKind.SYSTEM, principal.token_id)


SYSTEM = Actor(AuthorKind.SYSTEM)


def record_event(
    session: Session, ticket: Ticket, kind: str, actor: Actor, data: dict[str, Any] | None = None
) -> TicketEvent:
    if ticket.id is None:
        session.flush()
    event = TicketEvent(
        ticket_id=ticket.id, kind=kind, actor_kind=actor.kind, actor_id=actor.id, data=data or {}
    )
    session.add(event)
    return event
