"""The social messaging adapter as ``channels.registry`` lists it."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.social.endpoints import router
from relaydesk.channels.social.sender import send_social
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

adapter = Adapter("social", (Channel.SOCIAL,), router=router, sender=send_social)
