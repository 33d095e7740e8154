"""Chat's live channels on the realtime fan-out (``relaydesk.realtime.fanout``).

Chat sockets subscribe to ``chat:customer:<id>`` (replies, typing, the visitor's other tabs); agent
screens subscribe to ``ticket:<id>`` (visitor messages and typing). The fan-out is best effort: the
widget reloads from the database when it reconnects, so a lost event costs a refresh, never a message.
"""

from __future__ import annotations

from typing import Any

from relaydesk.realtime import channels
from relaydesk.realtime.fanout import close_loop_hub, follow, hub, publish, publish_from_thread, subscribe

__all__ = [
    "INTERNAL_KEYS",
    "announce_visitor_message",
    "close_loop_hub",
    "customer_channel",
    "follow",
    "hub",
    "identity_channel",
    "publish",
    "publish_from_thread",
    "queue_channel",
    "subscribe",
    "ticket_channel",
]


def customer_channel(customer_id: int) -> str:
    return f"chat:customer:{customer_id}"


def ticket_channel(ticket_id: int) -> str:
    return channels.ticket_channel(ticket_id)


def queue_channel(queue: str) -> str:
    return channels.queue_channel(queue)


def identity_channel(identity_kind: str, identity_value: str) -> str:
    """Sockets of a visitor who is not a customer yet wait here for their first message."""
    return f"chat:identity:{identity_kind}:{identity_value}"


# Keys only servers read; stripped before an event reaches a client.
INTERNAL_KEYS = frozenset({"via", "customer_id"})


async def announce_visitor_message(
    *,
    identity_kind: str,
    identity_value: str,
    customer_id: int,
    ticket_id: int,
    message: dict[str, Any],
    via: str | None = None,
) -> None:
    """A visitor message was stored: to their other tabs and devices, and to agent screens."""
    event: dict[str, Any] = {"type": "message", "ticket_id": ticket_id, "message": message}
    if via is not None:
        event["via"] = via  # the socket that sent it already has it (as its ack)
    await publish(customer_channel(customer_id), event)
    await publish(ticket_channel(ticket_id), event)
    # A socket opened before the visitor's first message learns here which customer to follow.
    await publish(identity_channel(identity_kind, identity_value), {**event, "customer_id": customer_id})
