"""Where a public reply goes: an address that was already on the ticket, or one an agent confirmed.

The outbox answers the address the customer last wrote from. Left alone, whoever manages to write
into a ticket from a new address (a merged-in record, an identity added by mistake) would receive
the next reply, and with it the conversation. So the destination is chosen when the reply is
written and pinned on it (``Message.meta["recipient"]``): the latest sender's address when it was
on the ticket before (an earlier message came from it, or an earlier reply went to it, or it is the
only one there ever was); otherwise the agent must confirm which address to answer
(``MessageCreate.confirm_recipient``), and automatic messages keep to the address known before.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.errors import ConflictError, ValidationFailedError
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.repository import TicketRepository

__all__ = ["ADDRESSED_CHANNELS", "RecipientChangedError", "choose_recipient", "known_identity"]

# Channels whose replies are sent to an address (the outbox's senders use it); chat and in-app
# replies go to the conversation itself.
ADDRESSED_CHANNELS: dict[Channel, IdentityKind] = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.SOCIAL: IdentityKind.SOCIAL,
    # The contact form is answered by email, at the address the customer typed (channels/web_form).
    Channel.WEB_FORM: IdentityKind.EMAIL,
}


class RecipientChangedError(ConflictError):
    code = "recipient_changed"


def _key(kind: IdentityKind, value: str) -> str:
    try:
        return customers.normalise_identity(kind, value)
    except ValidationFailedError:
        return value.strip().lower()


def _unique(kind: IdentityKind, values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(_key(kind, value), value)
    return list(seen.values())


def known_identity(session: Session, ticket: Ticket, kind: IdentityKind) -> list[str]:
    """The customer's identities of this kind, verified first, newest first."""
    customer = customers.get_customer(session, ticket.customer_id)
    candidates = sorted(
        (i for i in customer.identities if i.kind == kind), key=lambda i: (not i.verified, -i.id)
    )
    return [identity.value for identity in candidates]


def choose_recipient(
    session: Session, ticket: Ticket, channel: Channel, *, confirmed: str | None, by_agent: bool
) -> str | None:
    """The address a public reply on ``channel`` goes to; None for channels without addresses.

    Raises RecipientChangedError (409) when an agent's reply would go to an address that was not on
    the ticket before, and ValidationFailedError when ``confirmed`` is not one of the ticket's.
    """
    kind = ADDRESSED_CHANNELS.get(channel)
    if kind is None:
        return None
    history = TicketRepository(session).messages(ticket.id, include_internal=False)
    on_channel = [m for m in history if m.channel == channel]
    senders = [m for m in on_channel if m.author_kind is AuthorKind.CUSTOMER and m.meta.get("from")]
    latest = senders[-1] if senders else None
    # Every address on the ticket before the latest customer message: earlier senders, earlier replies.
    known = _unique(
        kind,
        [
            str(m.meta.get("from") if m.author_kind is AuthorKind.CUSTOMER else m.meta.get("recipient"))
            for m in on_channel
            if m is not latest and (m.meta.get("from") or m.meta.get("recipient"))
        ],
    )
    if latest is not None:
        proposed: str | None = str(latest.meta["from"])
        # With nothing known before, only the message that opened the ticket sets its address: a
        # ticket opened without one (by an agent, over the API) does not take the first writer's.
        established = any(_key(kind, value) == _key(kind, str(proposed)) for value in known) or (
            not known and history[0] is latest
        )
        choices = _unique(kind, [*known, str(proposed)])
    else:
        # No customer message on this channel (the agent switched channels): an earlier reply's
        # address, else the customer's one identity of that kind; several need the agent's choice.
        identities = known_identity(session, ticket, kind)
        proposed = known[-1] if known else (identities[0] if identities else None)
        established = bool(known) or len(identities) <= 1
        choices = _unique(kind, [*known, *identities])
    if confirmed is not None:
        match = [choice for choice in choices if _key(kind, choice) == _key(kind, confirmed)]
        if not match:
            raise ValidationFailedError(
                f"{confirmed!r} is not an address on this ticket; answer one of: {', '.join(choices)}."
            )
        return match[0]
    if proposed is None or established:
        return proposed
    if not by_agent:
        # Automatic messages never follow a change nobody confirmed.
        return known[-1] if known else proposed
    before = ", ".join(known) if known else "none"
    raise RecipientChangedError(
        f"The reply would go to {proposed}, which was not on this ticket before (before: {before}). "
        f"Send it again with confirm_recipient set to the address to answer: {', '.join(choices)}.",
        details={"proposed": proposed, "choices": choices},
    )
