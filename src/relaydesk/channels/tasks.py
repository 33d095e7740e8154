"""Jobs of the channels domain: the outbox that delivers replies on the customer's channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.base import ChannelNotConfiguredError, OutboundMessage, OutboundSender, SendError
from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.channels.recipients import resolve_recipient
from relaydesk.channels.registry import sender_for
from relaydesk.channels.status_page.links import LINKED_CHANNELS, status_url, with_status_link
from relaydesk.jobs import committed_step, task
from relaydesk.kit.time import utcnow
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, DeliveryState

__all__ = ["SEND_LEASE_SECONDS", "deliver_message", "resolve_recipient"]

log = logging.getLogger("relaydesk.channels")


def _mark_failed(session: Session, *, message_id: int, error: str) -> None:
    message = tickets.get_message(session, message_id)
    if message is None:
        return
    tickets.set_delivery_state(session, message, DeliveryState.FAILED)
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message_id))
    if delivery is not None:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = _last_line(error)


def _last_line(error: str) -> str:
    return error.strip().splitlines()[-1][:2000] if error.strip() else error


# Longer than any sender's own timeout (SMTP's is 30 s by default): the lease must outlast the call,
# or another worker would take the job over and send while this one still waits.
SEND_LEASE_SECONDS = 300


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    sender: OutboundSender
    outbound: OutboundMessage


@task("channels.deliver_message", max_attempts=12, on_dead=_mark_failed, lease_seconds=SEND_LEASE_SECONDS)
def deliver_message(session: Session, *, message_id: int) -> None:
    """Send one public reply; retried with backoff while the provider is down, sent once when up.

    Commit, then call, then record: the delivery is marked "sending" and committed before the
    provider is called, so no transaction (no SQLite writer lock) is held while it answers; the
    result is recorded in the job's own transaction, which also completes the job. A worker that
    stops mid-call leaves the delivery "sending" and the job to be retried: the retry sends again
    under the same idempotency key (email: the same Message-ID), which a provider honouring it
    delivers once.
    """
    with committed_step(session) as step:
        send = _start_sending(step, message_id)
    if send is None:
        return
    try:
        provider_id = send.sender(send.outbound)
    except ChannelNotConfiguredError as exc:
        _record(session, send.delivery_id, DeliveryStatus.FAILED, error=str(exc))
        return
    except SendError as exc:
        # Kept on the delivery for the agent; the job goes back to the queue with backoff.
        with committed_step(session) as step:
            _record(step, send.delivery_id, DeliveryStatus.PENDING, error=str(exc))
        raise
    _record(session, send.delivery_id, DeliveryStatus.SENT, provider_id=provider_id)


def _start_sending(session: Session, message_id: int) -> _Send | None:
    """Mark the delivery "sending" (creating it on the first try); None when there is nothing to send."""
    message = tickets.get_message(session, message_id)
    if message is None or not message.public:
        return None
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message_id))
    if delivery is not None and delivery.status is DeliveryStatus.SENT:
        return None  # already delivered: a re-run of this job must not send twice
    channel = Channel(message.channel)
    sender = sender_for(channel)
    if sender is None:
        # Pull channels (web chat, in-app, API): the customer's client fetches the reply itself.
        return None
    ticket = tickets.get_ticket(session, message.ticket_id)
    assert ticket is not None
    # Replies chosen their address when written (tickets/destination.py); older ones resolve now.
    pinned = message.meta.get("recipient")
    recipient = str(pinned) if pinned else resolve_recipient(session, ticket, channel)
    if delivery is None:
        delivery = Delivery(
            message_id=message.id,
            ticket_id=ticket.id,
            channel=channel.value,
            recipient=recipient or "",
            status=DeliveryStatus.PENDING,
            attempts=0,
        )
        session.add(delivery)
    if recipient is None:
        tickets.set_delivery_state(session, message, DeliveryState.FAILED)
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"The customer has no {channel} address to reply to."
        return None
    if delivery.status is DeliveryStatus.SENDING:
        log.warning(
            "delivery of message %s: the previous try's outcome is unknown; sending again", message_id
        )
    delivery.status = DeliveryStatus.SENDING
    delivery.recipient = recipient
    delivery.attempts += 1
    session.flush()
    # Every update to a customer who is not on a live screen links to their status page; this is the
    # one place it is added, worded per channel (channels/status_page/links.py).
    text, link = message.body_text, ""
    if channel in LINKED_CHANNELS:
        link = status_url(ticket.id, ticket.customer_id)
        text = with_status_link(channel, text, link)
    return _Send(
        delivery.id,
        sender,
        OutboundMessage(
            ticket_id=ticket.id,
            message_id=message.id,
            channel=channel,
            recipient=recipient,
            text=text,
            subject=ticket.subject,
            status_url=link,
            idempotency_key=f"relaydesk-delivery-{delivery.id}",
        ),
    )


def _record(
    session: Session,
    delivery_id: int,
    status: DeliveryStatus,
    *,
    error: str | None = None,
    provider_id: str | None = None,
) -> None:
    delivery = session.get(Delivery, delivery_id)
    message = tickets.get_message(session, delivery.message_id) if delivery is not None else None
    if delivery is None or message is None:
        return  # the reply was deleted meanwhile
    delivery.status = status
    delivery.last_error = _last_line(error) if error is not None else None
    if status is DeliveryStatus.FAILED:
        tickets.set_delivery_state(session, message, DeliveryState.FAILED)
    elif status is DeliveryStatus.SENT:
        delivery.provider_message_id = provider_id
        delivery.sent_at = utcnow()
        tickets.set_delivery_state(session, message, DeliveryState.SENT, provider_delivery_id=provider_id)
