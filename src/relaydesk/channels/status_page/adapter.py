"""The status page as ``channels.registry`` lists it: routes only. It serves no channel of its own; a
reply from it continues the ticket's conversation on the ticket's channel."""

from __future__ import annotations

from relaydesk.channels.base import Adapter
from relaydesk.channels.status_page.endpoints import router

__all__ = ["adapter"]

adapter = Adapter("status_page", (), router=router)
