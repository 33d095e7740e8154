"""The email adapter as ``channels.registry`` lists it. Email has no HTTP routes: it arrives over the
built-in SMTP server, IMAP polling and ``relaydesk email ingest`` (see ``inbound.py``)."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.email.sender import send_email
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

adapter = Adapter("email", (Channel.EMAIL,), sender=send_email)
