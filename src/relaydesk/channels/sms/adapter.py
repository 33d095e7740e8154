"""The SMS adapter as ``channels.registry`` lists it."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.sms.endpoints import router
from relaydesk.channels.sms.sender import send_sms
from relaydesk.tickets.enums import Channel

__all__ = ["adapter"]

adapter = Adapter("sms", (Channel.SMS,), router=router, sender=send_sms)
