"""Jobs of the triage domain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from relaydesk.jobs import task
from relaydesk.tickets.models import Message, Ticket
from relaydesk.triage.missing_info import AWAITING, check_required_fields, collect_from_reply

__all__ = ["process_inbound", "request_required_fields"]


@task("triage.process_inbound")
def process_inbound(session: Session, *, message_id: int) -> None:
    """Every stored customer message comes here after intake's commit."""
    message = session.get(Message, message_id)
    if message is None:
        return
    ticket = session.get(Ticket, message.ticket_id)
    if ticket is None:
        return
    if isinstance(ticket.custom_fields.get(AWAITING), dict):
        collect_from_reply(session, ticket, message)


@task("triage.request_required_fields")
def request_required_fields(session: Session, *, ticket_id: int) -> None:
    """Once a ticket has its category: collect or ask for what that category needs."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None and not isinstance(ticket.custom_fields.get(AWAITING), dict):
        check_required_fields(session, ticket)
