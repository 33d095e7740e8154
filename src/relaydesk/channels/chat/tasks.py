"""Jobs of web chat and in-app messaging.

There is no chat job of its own: replies leave through the channels outbox
(``channels.deliver_message``), which finds the chat sender in ``channels.registry``.
"""

from __future__ import annotations

__all__: list[str] = []
