"""The names of the fan-out's channels, in one place: publishers and subscribers must agree on them."""

from __future__ import annotations

__all__ = ["INBOX_CHANNEL", "agent_channel", "queue_channel", "ticket_channel"]

# Something changed on some ticket: agent inboxes refresh their counts (the event names no ticket,
# so an agent outside a restricted team learns nothing from it).
INBOX_CHANNEL = "inbox"


def ticket_channel(ticket_id: int) -> str:
    """Everything agent screens show about one ticket: messages, events, who else is viewing."""
    return f"ticket:{ticket_id}"


def agent_channel(agent_id: int) -> str:
    """What concerns one agent: offers, notifications, reclaimed tickets."""
    return f"agent:{agent_id}"


def queue_channel(queue: str) -> str:
    """A routed queue moved (a ticket joined or left it): waiting visitors re-read their place."""
    return f"queue:{queue}"
