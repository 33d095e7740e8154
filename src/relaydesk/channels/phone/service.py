"""Phone: a callback queue customers (or the bot) join with a preferred time, and call events from the
telephony provider (started, ended, recording, notes) landing on the ticket.

The callback workflow lives in the channel's own table (``phone_callbacks``); tickets are reached only
through ``tickets.service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import IntakeResult, ingest
from relaydesk.channels.phone.models import CallbackStatus, PhoneCallback
from relaydesk.channels.phone.parse import CallEvent
from relaydesk.channels.phone.repository import CallbackRepository
from relaydesk.channels.phone.schemas import CallbackRequest
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, QueueKind
from relaydesk.tickets.schemas import MessageCreate

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket

__all__ = ["AppliedCallEvent", "WaitingCallback", "apply_call_event", "callback_queue", "request_callback"]


def request_callback(session: Session, data: CallbackRequest) -> IntakeResult:
    """The customer joins the callback queue; the request is their message on the phone channel."""
    preferred = data.preferred_at.isoformat() if data.preferred_at else None
    result = ingest(
        session,
        InboundMessage(
            channel=Channel.PHONE,
            identity_kind=IdentityKind.PHONE,
            identity_value=data.phone,
            # Anyone can type any number into the callback form: a new ticket, never someone's open one.
            identity_proven=False,
            display_name=data.name,
            subject=f"Callback: {data.reason[:80]}",
            text=data.reason,
            provider_message_id=None,
            meta={"callback_preferred_at": preferred},
        ),
    )
    ticket = tickets.move_to_queue(session, result.ticket_id, QueueKind.CALLBACK)
    CallbackRepository(session).add(
        PhoneCallback(
            ticket_id=ticket.id,
            phone=customers.normalise_identity(IdentityKind.PHONE, data.phone),
            status=CallbackStatus.REQUESTED,
            preferred_at=as_utc(data.preferred_at) if data.preferred_at else None,
            requested_at=utcnow(),
            attempts=0,
        )
    )
    tickets.record_event(
        session,
        ticket,
        "callback.requested",
        tickets.Actor(AuthorKind.CUSTOMER, ticket.customer_id),
        {"preferred_at": preferred},
    )
    return result


@dataclass(frozen=True)
class WaitingCallback:
    ticket: Ticket
    callback: PhoneCallback


def callback_queue(session: Session, *, hidden_team_ids: set[int]) -> list[WaitingCallback]:
    """Callbacks waiting for a call, soonest preferred time first (no preference: oldest first); only
    tickets still in the callback queue and visible to the caller."""
    waiting = CallbackRepository(session).waiting()
    in_queue = {
        t.id: t for t in tickets.tickets_in_queue(session, [c.ticket_id for c in waiting], QueueKind.CALLBACK)
    }
    return [
        WaitingCallback(ticket, callback)
        for callback in waiting
        if (ticket := in_queue.get(callback.ticket_id)) is not None
        and (ticket.team_id is None or ticket.team_id not in hidden_team_ids)
    ]


@dataclass(frozen=True)
class AppliedCallEvent:
    ticket: Ticket
    duplicate: bool  # the same signed event was applied before (a provider retry)


def _applied_before(session: Session, ticket: Ticket, event: CallEvent) -> bool:
    if not event.event_key:
        return False
    # A ticket has a handful of call events: comparing their data here stays portable (no JSON SQL).
    recorded = tickets.events_of_kind(session, ticket.id, event.event)
    return any(row.data.get("event_key") == event.event_key for row in recorded)


def _follow_callback(session: Session, ticket: Ticket, event: CallEvent) -> None:
    """A call on a ticket that asked for a callback moves that callback along."""
    callback = CallbackRepository(session).get(ticket.id)
    if callback is None:
        return
    if event.event == "call.started":
        callback.status = CallbackStatus.IN_PROGRESS
        callback.started_at = utcnow()
        callback.attempts += 1
    elif event.event == "call.ended":
        callback.status = CallbackStatus.COMPLETED
        callback.finished_at = utcnow()


def apply_call_event(session: Session, event: CallEvent) -> AppliedCallEvent:
    """Record a call event on its ticket (named by id, or the caller's open ticket by phone), once."""
    ticket = tickets.get_ticket(session, event.ticket_id) if event.ticket_id is not None else None
    if ticket is None and event.phone:
        customer = customers.find_by_identity(session, IdentityKind.PHONE, event.phone)
        ticket = tickets.open_ticket_for_customer(session, customer.id) if customer else None
    if ticket is None:
        raise NotFoundError(
            "No ticket matches this call (neither ticket_id nor an open ticket for the phone)."
        )
    if _applied_before(session, ticket, event):
        return AppliedCallEvent(ticket, duplicate=True)
    actor = (
        tickets.Actor(AuthorKind.AGENT, event.agent_id)
        if event.agent_id
        else tickets.Actor(AuthorKind.SYSTEM)
    )
    data = event.model_dump(exclude_none=True, exclude={"notes"})
    if event.event_key:
        data["event_key"] = event.event_key
    _follow_callback(session, ticket, event)
    tickets.record_event(session, ticket, event.event, actor, data)
    if event.event == "call.notes" and event.notes:
        tickets.add_agent_message(
            session, ticket, MessageCreate(body=event.notes, public=False), event.agent_id
        )
    return AppliedCallEvent(ticket, duplicate=False)
