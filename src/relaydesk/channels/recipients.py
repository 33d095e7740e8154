"""Where a reply on a channel goes: the address the customer last wrote from, else their identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket

__all__ = ["resolve_recipient"]

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
