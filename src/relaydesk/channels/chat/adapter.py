"""The web chat and in-app adapter as ``channels.registry`` lists it."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.chat.delivery import publish_reply
from relaydesk.channels.chat.endpoints import router
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

# Pull channels: the sender only publishes a reply to the visitor's open sockets.
adapter = Adapter("chat", (Channel.WEB_CHAT, Channel.IN_APP), router=router, sender=publish_reply)
