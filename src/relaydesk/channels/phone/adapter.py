"""The phone adapter as ``channels.registry`` lists it: routes only (a phone reply is a call)."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.phone.endpoints import router
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

adapter = Adapter("phone", (Channel.PHONE,), router=router)
