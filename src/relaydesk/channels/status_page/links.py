"""The status-page link in outbound updates: which channels carry it and how each one words it."""

from __future__ import annotations

from relaydesk.channels.status_page.tokens import make_status_token
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel

__all__ = ["LINKED_CHANNELS", "status_url", "with_status_link"]

# Channels whose customer is not on a live screen. Web chat and in-app are live (the conversation is
# in front of them); the phone is answered by calling.
LINKED_CHANNELS = frozenset({Channel.EMAIL, Channel.WEB_FORM, Channel.SMS, Channel.SOCIAL})

_EMAIL_FOOTER = "\n\n--\nSee your request, its status and the whole conversation, or reply there:\n{url}\n"
_SHORT_FOOTER = "\n\nStatus and replies: {url}"


def status_url(ticket_id: int, customer_id: int) -> str:
    return f"{get_settings().base_url.rstrip('/')}/status/{make_status_token(ticket_id, customer_id)}"


def with_status_link(channel: Channel, text: str, url: str) -> str:
    """The update's text with the link, worded for the channel (a footer by email, a short line else)."""
    footer = _EMAIL_FOOTER if channel in (Channel.EMAIL, Channel.WEB_FORM) else _SHORT_FOOTER
    return text.rstrip() + footer.format(url=url)
