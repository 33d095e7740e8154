"""What the status page shows: the ticket's state in plain words and its public conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.channels.status_page.tokens import StatusLink
from relaydesk.kit.errors import NotFoundError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, TicketStatus

__all__ = ["STATE_WORDS", "Entry", "StatusView", "load_status"]

# (label, what it means for the customer), never the internal state names.
STATE_WORDS: dict[TicketStatus, tuple[str, str]] = {
    TicketStatus.NEW: ("Received", "We have your request and will look at it shortly."),
    TicketStatus.BOT: ("Received", "We have your request and will look at it shortly."),
    TicketStatus.QUEUED: ("Waiting for our team", "Your request is waiting for the next available person."),
    TicketStatus.OPEN: ("In progress", "Someone on our team is working on your request."),
    TicketStatus.PENDING_CUSTOMER: ("Waiting for you", "We asked you something; reply below to go on."),
    TicketStatus.ON_HOLD: ("On hold", "We are waiting on something outside our team and will update you."),
    TicketStatus.RESOLVED: (
        "Solved",
        "We think this is solved. If not, reply below and we pick it up again.",
    ),
    TicketStatus.CLOSED: ("Closed", "This request is closed. To ask something new, write to us again."),
    TicketStatus.REOPENED: ("Open again", "Your request is open again; we will get back to you."),
}


@dataclass(frozen=True)
class Entry:
    author: str
    from_customer: bool
    text: str
    at: datetime


@dataclass(frozen=True)
class StatusView:
    ticket_id: int
    subject: str
    state_label: str
    state_words: str
    entries: list[Entry]
    can_reply: bool


def load_status(session: Session, link: StatusLink) -> StatusView | None:
    """The page for the link's ticket; None when the ticket is gone or no longer that customer's."""
    ticket = tickets.get_ticket(session, link.ticket_id)
    if ticket is None or ticket.customer_id != link.customer_id:
        return None
    first_names: dict[int, str] = {}
    entries = []
    for message in tickets.list_messages(session, ticket):
        # Internal notes never leave the team, whatever else changes on the ticket.
        if not message.public or message.channel == Channel.INTERNAL:
            continue
        author = _author(session, message.author_kind, message.author_agent_id, first_names)
        entries.append(
            Entry(author, message.author_kind == AuthorKind.CUSTOMER, message.body_text, message.created_at)
        )
    label, words = STATE_WORDS[ticket.status]
    return StatusView(
        ticket.id, ticket.subject, label, words, entries, can_reply=ticket.status is not TicketStatus.CLOSED
    )


def _author(session: Session, kind: AuthorKind, agent_id: int | None, first_names: dict[int, str]) -> str:
    if kind == AuthorKind.CUSTOMER:
        return "You"
    if kind == AuthorKind.BOT:
        return "Assistant"
    if kind == AuthorKind.AGENT and agent_id is not None:
        if agent_id not in first_names:
            try:
                # A first name only: the customer is talking to a person, not reading a staff list.
                first_names[agent_id] = agents.get_agent(session, agent_id).name.split()[0]
            except (NotFoundError, IndexError):
                first_names[agent_id] = "Support"
        return first_names[agent_id]
    return "Support"
