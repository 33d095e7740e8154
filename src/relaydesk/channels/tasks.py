"""Jobs of the channels domain: the outbox that delivers replies on the customer's channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

# Importing the adapters registers their senders in every worker process.
from relaydesk.channels import sms, social  # noqa: F401
from relaydesk.channels.base import ChannelNotConfiguredError, OutboundMessage, get_sender
from relaydesk.channels.email import sender as email_sender  # noqa: F401
from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.customers import service as customers
from relaydesk.customers.models import IdentityKind
from relaydesk.jobs import task
from relaydesk.kit.time import utcnow
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, DeliveryState
from relaydesk.tickets.models import Message, Ticket

__all__ = ["deliver_message", "resolve_recipient"]

_IDENTITY_FOR = {
    Channel.SMS: IdentityKind.PHONE,
    Channel.SOCIAL: IdentityKind.SOCIAL,
    Channel.EMAIL: IdentityKind.EMAIL,
}


def resolve_recipient(session: Session, ticket: Ticket, channel: Channel) -> str | None:
    """Answer the address the customer last wrote from on that channel, else their known identity."""
    inbound = tickets.latest_inbound_message(session, ticket.id, channel)
    if inbound is not None and inbound.meta.get("from"):
        return str(inbound.meta["from"])
    kind = _IDENTITY_FOR.get(channel)
    if kind is None:
        return None
    customer = customers.get_customer(session, ticket.customer_id)
    candidates = [i for i in customer.identities if i.kind == kind]
    candidates.sort(key=lambda i: (not i.verified, -i.id))
    return candidates[0].value if candidates else None


def _mark_failed(session: Session, *, message_id: int, error: str) -> None:
    message = session.get(Message, message_id)
    if message is None:
        return
    message.delivery_state = DeliveryState.FAILED
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message_id))
    if delivery is not None:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = error.strip().splitlines()[-1][:2000] if error.strip() else error


@task("channels.deliver_message", max_attempts=12, on_dead=_mark_failed)
def deliver_message(session: Session, *, message_id: int) -> None:
    """Send one public reply; retried with backoff while the provider is down, sent once when up."""
    message = session.get(Message, message_id)
    if message is None or not message.public:
        return
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message_id))
    if delivery is not None and delivery.status is DeliveryStatus.SENT:
        return  # already delivered: a re-run of this job must not send twice
    channel = Channel(message.channel)
    sender = get_sender(channel)
    if sender is None:
        # Pull channels (web chat, in-app, API): the customer's client fetches the reply itself.
        return
    ticket = session.get(Ticket, message.ticket_id)
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
        message.delivery_state = DeliveryState.FAILED
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"The customer has no {channel} address to reply to."
        return
    delivery.attempts += 1
    # The provider call happens inside the job's transaction: if the commit then fails the job
    # runs again and the customer may get the reply twice; providers without idempotency keys
    # leave no better option, and twice beats never.
    try:
        provider_id = sender(
            OutboundMessage(
                ticket_id=ticket.id,
                message_id=message.id,
                channel=channel,
                recipient=recipient,
                text=message.body_text,
                subject=ticket.subject,
            )
        )
    except ChannelNotConfiguredError as exc:
        message.delivery_state = DeliveryState.FAILED
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = str(exc)
        return
    delivery.status = DeliveryStatus.SENT
    delivery.provider_message_id = provider_id
    delivery.sent_at = utcnow()
    message.delivery_state = DeliveryState.SENT
    if provider_id:
        message.meta = {**message.meta, "provider_delivery_id": provider_id}
