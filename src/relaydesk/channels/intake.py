"""Intake: one customer message in, stored once, threaded into the right ticket.

Adapters call ``ingest`` inside a transaction and acknowledge the provider only after it commits,
so a message is either durably stored or the provider retries it; the provider's message id makes
the retry harmless. Concurrent messages never refuse each other: intake holds the customer's row
until commit, and appending a message does not bump the ticket's version (agents' edits keep their
optimistic lock). What concurrency still throws at a transaction (a deadlock between two webhook
batches that lock the same customers in opposite orders, a serialization failure, a unique key a
concurrent creator took first, a stale row) is met by ``in_intake_transaction``: the whole
transaction is rolled back and run again, a few times, before the error is answered as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from relaydesk.channels.base import InboundMessage
from relaydesk.customers import service as customers
from relaydesk.db import get_database
from relaydesk.jobs import enqueue
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.schemas import CustomerRef, TicketCreate

if TYPE_CHECKING:
    from relaydesk.tickets.models import Message, Ticket

__all__ = [
    "INTAKE_ATTEMPTS",
    "IntakeResult",
    "in_intake_transaction",
    "ingest",
    "ingest_committed",
    "is_transient_conflict",
]

log = logging.getLogger("relaydesk.channels.intake")

T = TypeVar("T")


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
    return tickets.find_provider_message(session, inbound.channel, inbound.provider_message_id)


def ingest(session: Session, inbound: InboundMessage) -> IntakeResult:
    if inbound.customer_id is not None:
        customer = customers.get_customer(session, inbound.customer_id)
    else:
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
        owner = tickets.get_ticket(session, duplicate.ticket_id)
        assert owner is not None
        return IntakeResult(
            owner.id, duplicate.id, owner.customer_id, created_ticket=False, duplicate=True, message=duplicate
        )
    if not customer.name and inbound.display_name:
        customer.name = inbound.display_name

    ticket = _thread_into(session, inbound, customer.id)

    meta = {**inbound.meta, "from": inbound.identity_value} if inbound.identity_value else dict(inbound.meta)
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
            tickets.Actor(AuthorKind.CUSTOMER, customer.id),
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


# --- the transaction around intake ------------------------------------------------------------------

# Tries of one inbound transaction before its error is answered as it would have been without retry.
INTAKE_ATTEMPTS = 4

# PostgreSQL's way of saying two transactions could not both go on: serialization failure, deadlock.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient_conflict(error: BaseException) -> bool:
    """A failure caused by a concurrent transaction, which running the same work again gets past.

    A unique key that a concurrent creator took first (the retry finds its row), a row another
    transaction changed under an optimistic lock, and PostgreSQL's serialization failures and
    deadlocks. A lost connection is not one: the caller answers it as a failure, as before.
    """
    if isinstance(error, StaleDataError | IntegrityError):
        return True
    if isinstance(error, DBAPIError) and not error.connection_invalidated:
        return getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES
    return False


def in_intake_transaction(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction of its own and commit it; answer what it returned.

    The one transaction boundary of inbound messages (chat, webhooks, email): every write intake
    makes for a message (customer, ticket, message, events, jobs) and whatever the adapter adds in the
    same unit is rolled back together on a transient conflict and run again from the start, after a
    short random pause so two racers do not meet again. Retrying is safe because intake is
    idempotent on the provider's message id, and nothing is acknowledged before the commit. After
    ``INTAKE_ATTEMPTS`` tries the last error is raised, and the caller answers it as before (409).
    """

    def committed() -> T:
        with get_database().transaction() as session:
            return work(session)

    retrying = Retrying(
        retry=retry_if_exception(is_transient_conflict),
        stop=stop_after_attempt(INTAKE_ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.02, max=0.5),
        before_sleep=before_sleep_log(log, logging.INFO),
        reraise=True,
    )
    return retrying(committed)


def ingest_committed(messages: Sequence[InboundMessage]) -> list[IntakeResult]:
    """Store several messages of one provider call in one transaction (retried as above)."""
    return in_intake_transaction(lambda session: [ingest(session, message) for message in messages])
