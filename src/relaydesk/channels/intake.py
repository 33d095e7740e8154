"""Intake: one customer message in, stored once, threaded into the right ticket.

Adapters call ``ingest`` inside the request transaction and acknowledge the provider only after it
commits, so a message is either durably stored or the provider retries it; the provider's message id
makes the retry harmless. Concurrent messages never refuse each other: intake holds the customer's
row until commit, and appending a message does not bump the ticket's version (agents' edits keep
their optimistic lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.customers import service as customers
from relaydesk.jobs import enqueue
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Message, Ticket
from relaydesk.tickets.repository import TicketRepository
from relaydesk.tickets.schemas import CustomerRef, TicketCreate

__all__ = ["IntakeResult", "ingest"]


@dataclass(frozen=True)
class IntakeResult:
    ticket_id: int
    message_id: int
    customer_id: int
    created_ticket: bool
    duplicate: bool
    # The stored row, in the caller's session: answering with it needs no read back.
    message: Message = field(compare=False, repr=False)


def _existing(session: Session, inbound: InboundMessage) -> Message | None:
    if inbound.provider_message_id is None:
        return None
    return TicketRepository(session).message_by_provider_id(inbound.channel, inbound.provider_message_id)


def ingest(session: Session, inbound: InboundMessage) -> IntakeResult:
    customer = customers.get_or_create_by_identity(
        session,
        inbound.identity_kind,
        inbound.identity_value,
        name=inbound.display_name,
        verified=inbound.identity_verified,
    )
    # One intake at a time per customer (PostgreSQL; SQLite's writer lock already serialises): two
    # first messages at once open one ticket, and a provider retry racing its original finds it.
    # Messages on one ticket then never refuse each other (none bumps the ticket's version).
    customers.lock_customer(session, customer.id)

    duplicate = _existing(session, inbound)
    if duplicate is not None:
        owner = TicketRepository(session).get(duplicate.ticket_id)
        assert owner is not None
        return IntakeResult(
            owner.id, duplicate.id, owner.customer_id, created_ticket=False, duplicate=True, message=duplicate
        )
    if not customer.name and inbound.display_name:
        customer.name = inbound.display_name

    ticket = _thread_into(session, inbound, customer.id)

    meta = {**inbound.meta, "from": inbound.identity_value}
    if ticket is None:
        ticket, message = tickets.open_ticket(
            session,
            TicketCreate(
                subject=inbound.subject[:500],
                body=inbound.text or "(no text)",
                customer=CustomerRef(id=customer.id),
                channel=inbound.channel,
                provider_message_id=inbound.provider_message_id,
            ),
            Actor(AuthorKind.CUSTOMER, customer.id),
            body_html=inbound.html,
            meta=meta,
            known_new=True,  # the provider id was looked up above
        )
        _attach(session, message, inbound)
        _after_intake(session, message)
        return IntakeResult(
            ticket.id, message.id, customer.id, created_ticket=True, duplicate=False, message=message
        )

    message = tickets.add_customer_message(
        session,
        ticket,
        body=inbound.text or "(no text)",
        channel=inbound.channel,
        provider_message_id=inbound.provider_message_id,
        body_html=inbound.html,
        meta=meta,
        known_new=True,
    )
    _attach(session, message, inbound)
    _after_intake(session, message)
    return IntakeResult(
        ticket.id, message.id, customer.id, created_ticket=False, duplicate=False, message=message
    )


def _thread_into(session: Session, inbound: InboundMessage, customer_id: int) -> Ticket | None:
    """The existing ticket this message may join, or None to open a new one.

    Only proof threads: a signed reply token names its ticket (and only that customer's own), a
    proven identity joins the customer's newest open ticket. An unproven write (a form anyone can
    fill in with anyone's address) never appends to, reveals or re-routes an existing ticket.
    """
    if inbound.ticket_id is not None:
        # Locked and re-read, so a status decided from it stays true until commit.
        candidate = tickets.lock_ticket(session, inbound.ticket_id)
        if (
            candidate is not None
            and candidate.customer_id == customer_id
            and candidate.status != TicketStatus.CLOSED
        ):
            return candidate
    if inbound.identity_proven:
        # Locked against an agent closing or reopening it meanwhile.
        return tickets.open_ticket_for_customer(session, customer_id, lock=True)
    return None


def _after_intake(session: Session, message: Message) -> None:
    # The next steps (flags, deflection, triage) run in one job written in this same transaction; its
    # order lives in triage/pipeline.py.
    enqueue(session, tickets.INBOUND_MESSAGE_JOB, message_id=message.id)


def _attach(session: Session, message: Message, inbound: InboundMessage) -> None:
    for attachment in inbound.attachments:
        tickets.attach_file(
            session,
            message,
            filename=attachment.filename,
            content_type=attachment.content_type,
            payload=attachment.payload,
        )
