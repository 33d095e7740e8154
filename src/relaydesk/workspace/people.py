"""How the workspace names people: an agent by name, a customer by name or their best identity.

Never "agent" or "customer 13": a customer without a name shows the identity an agent would
recognise first (email, then phone, social handle, app user), and an anonymous chat visitor shows as
"Chat visitor" with a short, stable part of the visitor id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel

if TYPE_CHECKING:
    from relaydesk.customers.models import Customer

__all__ = ["IDENTITY_REPLY_CHANNELS", "customer_display_name"]

_RECOGNISABLE = (
    IdentityKind.EMAIL,
    IdentityKind.PHONE,
    IdentityKind.SOCIAL,
    IdentityKind.APP_USER,
    IdentityKind.EXTERNAL_ID,
)

# The channels a reply can take to reach a customer through an identity of this kind.
IDENTITY_REPLY_CHANNELS: dict[IdentityKind, tuple[Channel, ...]] = {
    IdentityKind.EMAIL: (Channel.EMAIL,),
    IdentityKind.PHONE: (Channel.SMS,),
    IdentityKind.SOCIAL: (Channel.SOCIAL,),
    IdentityKind.CHAT_VISITOR: (Channel.WEB_CHAT,),
    IdentityKind.APP_USER: (Channel.IN_APP,),
}


def customer_display_name(customer: Customer) -> str:
    if customer.name.strip():
        return customer.name.strip()
    by_kind = sorted(customer.identities, key=lambda i: (not i.verified, i.id))
    for kind in _RECOGNISABLE:
        for identity in by_kind:
            if identity.kind == kind:
                return identity.value
    for identity in by_kind:
        if identity.kind == IdentityKind.CHAT_VISITOR:
            return f"Chat visitor {identity.value[-6:]}"
    return "Unnamed customer"
