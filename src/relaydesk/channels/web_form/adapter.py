"""The contact-form adapter as ``channels.registry`` lists it: its pages, and replies by email."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.web_form.endpoints import router
from relaydesk.channels.web_form.sender import send_web_form_reply
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

adapter = Adapter("web_form", (Channel.WEB_FORM,), router=router, sender=send_web_form_reply)
