"""Jobs of the triage domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.jobs import task
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.triage.missing_info import awaits_answer, check_required_fields, collect_from_reply
from relaydesk.triage.pipeline import StepOutcome, registered_steps
from relaydesk.triage.service import record_category_correction, triage_new_ticket
from relaydesk.triage.training import register_sources

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket

__all__ = ["process_inbound", "request_required_fields", "triage_ticket"]

# Triage decides for tickets nobody has taken up yet; an agent who opened one decides by hand.
_TRIAGEABLE = {TicketStatus.NEW, TicketStatus.BOT}

# Scheduled retraining (classification) learns each triage head from imports, tickets and corrections.
register_sources()


@task("triage.process_inbound")
def process_inbound(session: Session, *, message_id: int) -> None:
    """Every stored customer message comes here after intake's commit (order: see pipeline.py)."""
    message = tickets.get_message(session, message_id)
    if message is None or message.author_kind != AuthorKind.CUSTOMER:
        return
    ticket = tickets.get_ticket(session, message.ticket_id)
    if ticket is None:
        return
    if awaits_answer(session, ticket.id):
        collect_from_reply(session, ticket, message)
        return
    for step in registered_steps():
        if step.run(session, ticket, message) is StepOutcome.HOLD:
            return
    _triage_if_new(session, ticket)


@task("triage.triage_ticket")
def triage_ticket(session: Session, *, ticket_id: int) -> None:
    """Resume after a step that held the ticket (deflection, a bot flow) let it go."""
    ticket = tickets.get_ticket(session, ticket_id)
    if ticket is not None:
        _triage_if_new(session, ticket)


def _triage_if_new(session: Session, ticket: Ticket) -> None:
    # triage_new_ticket itself returns the ticket's earlier triage when there is one.
    if ticket.status not in _TRIAGEABLE:
        return
    first = next(
        (m for m in tickets.list_messages(session, ticket) if m.author_kind == AuthorKind.CUSTOMER), None
    )
    if first is not None:
        triage_new_ticket(session, ticket, first)


@task("triage.request_required_fields")
def request_required_fields(session: Session, *, ticket_id: int) -> None:
    """Once a ticket has its category: record an agent's choice, then collect or ask for the details."""
    ticket = tickets.get_ticket(session, ticket_id)
    if ticket is None:
        return
    record_category_correction(session, ticket)
    if not awaits_answer(session, ticket.id):
        check_required_fields(session, ticket)
