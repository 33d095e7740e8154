"""Replies to web chat and in-app conversations: the outbox publishes them to the visitor's sockets.

These are pull channels: a reply is stored when the agent sends it, and the widget or app fetches it
whenever it (re)connects. The sender only makes it appear at once on open sockets, through the hub;
"sent" therefore means "published to the conversation", not "seen on a screen".
"""

from __future__ import annotations

from relaydesk.channels.base import OutboundMessage
from relaydesk.channels.chat import live
from relaydesk.channels.chat.service import message_out
from relaydesk.db import get_database
from relaydesk.tickets import service as tickets

__all__ = ["publish_reply"]


def publish_reply(message: OutboundMessage) -> str | None:
    # Runs inside the delivery job; the reply itself was committed with the agent's request.
    with get_database().transaction(read_only=True) as session:
        stored = tickets.get_message(session, message.message_id)
        ticket = tickets.get_ticket(session, message.ticket_id)
        if stored is None or ticket is None:
            return None
        out = message_out(session, stored)
        customer_id = ticket.customer_id
    out.state = "sent"
    live.publish_from_thread(
        live.customer_channel(customer_id),
        {"type": "message", "ticket_id": message.ticket_id, "message": out.model_dump(mode="json")},
    )
    return None
