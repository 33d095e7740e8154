"""Every query of the triage domain.

Training from Relaydesk's own tickets needs the settled fields of many tickets and their first
customer message at once; the tickets service answers per ticket, so this module holds the one
read-only bulk query over tickets and messages (it never writes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.models import Message, Ticket, TicketEvent
from relaydesk.triage.models import TicketTriage, TrainingExample, TriageCorrection

__all__ = ["SettledTicket", "TriageRepository"]

_FIELD_OF_HEAD = {"category": Ticket.category, "priority": Ticket.priority, "team": Ticket.team_id}


@dataclass(frozen=True)
class SettledTicket:
    ticket_id: int
    text: str
    value: str  # category, priority value, or team id as text
    corrected: bool  # an agent changed the value triage set (or set it where triage could not)


class TriageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- per-ticket results ---------------------------------------------------------------------

    def for_ticket(self, ticket_id: int) -> TicketTriage | None:
        return self.session.scalar(select(TicketTriage).where(TicketTriage.ticket_id == ticket_id))

    def recent_embeddings(
        self, *, since: datetime, exclude_ticket_id: int | None, limit: int
    ) -> Sequence[tuple[int, int, bytes]]:
        """(ticket id, customer id, embedding) of the newest triaged tickets since ``since``."""
        query = (
            select(TicketTriage.ticket_id, TicketTriage.customer_id, TicketTriage.embedding)
            .where(TicketTriage.created_at >= since, TicketTriage.embedding.is_not(None))
            .order_by(TicketTriage.created_at.desc())
            .limit(limit)
        )
        if exclude_ticket_id is not None:
            query = query.where(TicketTriage.ticket_id != exclude_ticket_id)
        return [(r[0], r[1], r[2]) for r in self.session.execute(query) if r[2] is not None]

    # --- corrections ----------------------------------------------------------------------------

    def latest_category_event(self, ticket_id: int) -> TicketEvent | None:
        return self.session.scalar(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "ticket.category_changed")
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )

    def correction_for_event(self, event_id: int) -> TriageCorrection | None:
        return self.session.scalar(select(TriageCorrection).where(TriageCorrection.event_id == event_id))

    def corrections_for_ticket(self, ticket_id: int) -> Sequence[TriageCorrection]:
        return self.session.scalars(
            select(TriageCorrection)
            .where(TriageCorrection.ticket_id == ticket_id)
            .order_by(TriageCorrection.id)
        ).all()

    # --- training data --------------------------------------------------------------------------

    def imported_examples(self, head: str) -> Sequence[TrainingExample]:
        return self.session.scalars(
            select(TrainingExample).where(TrainingExample.head == head).order_by(TrainingExample.id)
        ).all()

    def imported_hashes(self, head: str) -> set[tuple[str, str]]:
        rows = self.session.execute(
            select(TrainingExample.text_sha256, TrainingExample.label).where(TrainingExample.head == head)
        )
        return {(h, label) for h, label in rows}

    def settled_tickets(self, head: str, *, limit: int) -> list[SettledTicket]:
        """Newest resolved/closed tickets with a value for ``head``, plus any ticket an agent corrected.

        The text is the ticket's subject and first customer message: what triage saw when it decided.
        """
        field = _FIELD_OF_HEAD[head]
        corrected_ids = select(TriageCorrection.ticket_id).where(TriageCorrection.head == head)
        done = Ticket.status.in_([TicketStatus.RESOLVED, TicketStatus.CLOSED])
        first_message = (
            select(func.min(Message.id))
            .where(Message.ticket_id == Ticket.id, Message.author_kind == AuthorKind.CUSTOMER)
            .correlate(Ticket)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(Ticket.id, Ticket.subject, Message.body_text, field, Ticket.id.in_(corrected_ids))
            .join(Message, Message.id == first_message)
            .where(field.is_not(None), done | Ticket.id.in_(corrected_ids))
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
        settled = []
        for ticket_id, subject, body, value, corrected in rows:
            raw = getattr(value, "value", value)
            settled.append(SettledTicket(ticket_id, ticket_text(subject, body), str(raw), bool(corrected)))
        return settled


def ticket_text(subject: str, body: str) -> str:
    """Subject and first message as one text; a subject that merely repeats the body is left out."""
    subject, body = subject.strip(), body.strip()
    # "Callback: …", "Re: …": the part after a label prefix is what would repeat the body.
    core = subject.split(":", 1)[-1].strip() if ":" in subject[:20] else subject
    if not subject or body.startswith(subject.rstrip(".…")) or (core and body.startswith(core.rstrip(".…"))):
        return body
    return f"{subject}\n{body}"
