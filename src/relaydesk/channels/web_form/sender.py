"""Replies to contact-form tickets: by email to the address the customer gave in the form.

The form has no conversation to answer in, so the reply goes out through the email channel's sender:
the same smarthost, a Reply-To carrying the ticket's signed token (the customer's answer threads back
into this ticket) and a Message-ID stable across retries. The outbox resolves the address from the
form message (``from``), pinned on the reply when it is written (``tickets/destination.py``).
"""

from __future__ import annotations

from relaydesk.channels.base import OutboundMessage
from relaydesk.channels.email.sender import send_email

__all__ = ["send_web_form_reply"]


def send_web_form_reply(message: OutboundMessage) -> str | None:
    return send_email(message)
