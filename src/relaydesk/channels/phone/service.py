"""Phone: a callback queue customers (or the bot) join with a preferred time, and call events from the
telephony provider (started, ended, recording, notes) landing on the ticket.

Call events are JSON signed with ``X-Relaydesk-Signature: sha256=<hex HMAC-SHA256(secret, body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import IntakeResult, ingest
from relaydesk.channels.quarantine import InputRejectedError, describe_invalid
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.identities import normalise_identity
from relaydesk.kit.compare import constant_time_equals
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.ids import RecordId
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, QueueKind
from relaydesk.tickets.events import Actor, record_event
from relaydesk.tickets.models import Ticket, TicketEvent
from relaydesk.tickets.schemas import MessageCreate
from relaydesk.web.inputs import Text

__all__ = [
    "SIGNATURE_HEADER",
    "AppliedCallEvent",
    "CallEvent",
    "CallbackRequest",
    "apply_call_event",
    "callback_queue",
    "parse_call_event",
    "phone_signature",
    "request_callback",
]

SIGNATURE_HEADER = "X-Relaydesk-Signature"
SOURCE = "webhook:phone"


class CallbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Text = Field(min_length=6, max_length=32)
    name: Text = Field(default="", max_length=200)
    reason: Text = Field(min_length=1, max_length=2000)
    preferred_at: datetime | None = None
    language: str | None = Field(default=None, max_length=16)


class CallEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Literal["call.started", "call.ended", "call.recording", "call.notes"]
    call_id: Text = Field(min_length=1, max_length=200)
    ticket_id: RecordId | None = None
    phone: Text | None = Field(default=None, max_length=32)
    agent_id: RecordId | None = None
    duration_seconds: int | None = Field(default=None, ge=0)
    recording_url: Text | None = Field(default=None, max_length=2000)
    notes: Text | None = Field(default=None, max_length=20_000)
    # Derived from the signed body, never read from it: a replayed event is applied once.
    event_key: str = Field(default="", exclude=True)


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
    ticket = session.get(Ticket, result.ticket_id)
    assert ticket is not None
    ticket.queue = QueueKind.CALLBACK
    ticket.custom_fields = {
        **ticket.custom_fields,
        "callback": {
            "phone": normalise_identity(IdentityKind.PHONE, data.phone),
            "preferred_at": preferred,
            "status": "requested",
            "requested_at": utcnow().isoformat(),
        },
    }
    record_event(
        session,
        ticket,
        "callback.requested",
        Actor(AuthorKind.CUSTOMER, ticket.customer_id),
        {"preferred_at": preferred},
    )
    return result


def callback_queue(session: Session, *, hidden_team_ids: set[int]) -> list[Ticket]:
    """Callbacks waiting for a call, soonest preferred time first (no preference: oldest first)."""
    rows = session.scalars(select(Ticket).where(Ticket.queue == QueueKind.CALLBACK)).all()
    waiting = [
        t
        for t in rows
        if (t.custom_fields.get("callback") or {}).get("status") in {"requested", "in_progress"}
        and (t.team_id is None or t.team_id not in hidden_team_ids)
    ]

    def order(ticket: Ticket) -> tuple[str, str]:
        callback = ticket.custom_fields["callback"]
        return (callback.get("preferred_at") or callback.get("requested_at") or "", str(ticket.id))

    return sorted(waiting, key=order)


def phone_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_call_event(raw: bytes, meta: dict[str, Any]) -> CallEvent:
    secret = get_settings().phone_webhook_secret
    if secret is None:
        raise InputRejectedError("channel_disabled", "The phone channel is not configured.", status_code=404)
    if not constant_time_equals(
        phone_signature(secret.get_secret_value(), raw), str(meta.get("signature") or "")
    ):
        raise InputRejectedError(
            "bad_signature", f"The {SIGNATURE_HEADER} header does not match.", status_code=403
        )
    try:
        event = CallEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise InputRejectedError(
            "malformed", f"The call event is not valid: {describe_invalid(exc)}.", verified=True
        ) from None
    return event.model_copy(update={"event_key": hashlib.sha256(raw).hexdigest()})


@dataclass(frozen=True)
class AppliedCallEvent:
    ticket: Ticket
    duplicate: bool  # the same signed event was applied before (a provider retry)


def _applied_before(session: Session, ticket: Ticket, event: CallEvent) -> bool:
    if not event.event_key:
        return False
    # A ticket has a handful of call events: comparing their data here stays portable (no JSON SQL).
    recorded = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == event.event)
    return any(row.data.get("event_key") == event.event_key for row in session.scalars(recorded))


def apply_call_event(session: Session, event: CallEvent) -> AppliedCallEvent:
    """Record a call event on its ticket (named by id, or the caller's open ticket by phone), once."""
    ticket = session.get(Ticket, event.ticket_id) if event.ticket_id is not None else None
    if ticket is None and event.phone:
        from relaydesk.customers import service as customers

        customer = customers.find_by_identity(session, IdentityKind.PHONE, event.phone)
        ticket = tickets.open_ticket_for_customer(session, customer.id) if customer else None
    if ticket is None:
        raise NotFoundError(
            "No ticket matches this call (neither ticket_id nor an open ticket for the phone)."
        )
    if _applied_before(session, ticket, event):
        return AppliedCallEvent(ticket, duplicate=True)
    actor = Actor(AuthorKind.AGENT, event.agent_id) if event.agent_id else Actor(AuthorKind.SYSTEM)
    data = event.model_dump(exclude_none=True, exclude={"notes"})
    if event.event_key:
        data["event_key"] = event.event_key
    callback = dict(ticket.custom_fields.get("callback") or {})
    if event.event == "call.started" and callback:
        callback["status"] = "in_progress"
    elif event.event == "call.ended" and callback:
        callback["status"] = "completed"
    if callback:
        ticket.custom_fields = {**ticket.custom_fields, "callback": callback}
    record_event(session, ticket, event.event, actor, data)
    if event.event == "call.notes" and event.notes:
        tickets.add_agent_message(
            session, ticket, MessageCreate(body=event.notes, public=False), event.agent_id
        )
    return AppliedCallEvent(ticket, duplicate=False)
