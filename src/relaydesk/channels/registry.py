"""Every channel adapter, in one list that the app (routes) and the outbox (senders) read.

A new channel is a sub-package with the same parts where it has them — ``verify`` (signatures,
proofs), ``parse`` (provider format → ``InboundMessage``), ``sender`` (replies), ``endpoints`` (its
routes) — and an ``adapter.py`` naming them in an ``Adapter`` record, added to ``ADAPTERS`` here.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter

from relaydesk.channels.base import Adapter, OutboundSender
from relaydesk.channels.chat.adapter import adapter as chat
from relaydesk.channels.email.adapter import adapter as email
from relaydesk.channels.phone.adapter import adapter as phone
from relaydesk.channels.sms.adapter import adapter as sms
from relaydesk.channels.social.adapter import adapter as social
from relaydesk.channels.status_page.adapter import adapter as status_page
from relaydesk.channels.web_form.adapter import adapter as web_form
from relaydesk.tickets.enums import Channel

__all__ = ["ADAPTERS", "adapter_for", "routers", "sender_for"]

ADAPTERS: tuple[Adapter, ...] = (sms, social, phone, email, chat, web_form, status_page)

_BY_CHANNEL: dict[Channel, Adapter] = {channel: a for a in ADAPTERS for channel in a.channels}
assert len(_BY_CHANNEL) == sum(len(a.channels) for a in ADAPTERS), "a channel is served by two adapters"


def adapter_for(channel: Channel) -> Adapter | None:
    """The adapter serving this customer channel; None for ``api`` and ``internal``."""
    return _BY_CHANNEL.get(channel)


def sender_for(channel: Channel) -> OutboundSender | None:
    """The outbox's sender for replies on this channel; None where the customer's client fetches them."""
    adapter = _BY_CHANNEL.get(channel)
    return adapter.sender if adapter is not None else None


def routers() -> Iterator[APIRouter]:
    """Each adapter's routes, in the order of ``ADAPTERS``."""
    return (a.router for a in ADAPTERS if a.router is not None)
