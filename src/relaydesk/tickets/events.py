"""Writing the append-only ticket timeline, always in the transaction of the change it records.

Every event is also announced to agent screens once its transaction commits (``announce``): a small
event on ``ticket:<id>`` (the ticket's open pages) and one on ``inbox`` (the counts). Only agent
screens subscribe to those channels; customer channels (the chat widget's) are never written here,
so an internal note cannot reach a customer through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal
from relaydesk.realtime.channels import INBOX_CHANNEL, ticket_channel
from relaydesk.realtime.fanout import publish_after_commit
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.models import Ticket, TicketEvent

__all__ = ["Actor", "announce", "record_event"]

# Events that stored a message: screens fetch the new timeline items after the last one they show.
_MESSAGE_KINDS = frozenset({"message.added", "note.added"})
# What a screen may use without a reload (a delivery state, whether a message is public); never text.
_SMALL_KEYS = ("public", "state", "channel")


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
    announce(session, ticket.id, kind, data or {})
    return event


def announce(session: Session, ticket_id: int, kind: str, data: dict[str, Any]) -> None:
    """Tell agent screens, after commit, that the ticket changed (ids and kinds only: screens reload
    what they show from the database, where visibility rules apply)."""
    message_id = data.get("message_id")
    payload: dict[str, Any] = {
        "type": "message" if kind in _MESSAGE_KINDS and isinstance(message_id, int) else "event",
        "ticket_id": ticket_id,
        "kind": kind,
    }
    if isinstance(message_id, int):
        payload["message_id"] = message_id
    for key in _SMALL_KEYS:
        if isinstance(data.get(key), (str, bool)):
            payload[key] = data[key]
    publish_after_commit(session, ticket_channel(ticket_id), payload)
    publish_after_commit(session, INBOX_CHANNEL, {"type": "inbox"})
