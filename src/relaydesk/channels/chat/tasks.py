"""Jobs of web chat and in-app messaging.

There is no chat job of its own: replies leave through the channels outbox
(``channels.deliver_message``). Workers import every ``*.tasks`` module at start, so importing the
chat sender here registers it in every worker process.
"""

from __future__ import annotations

from relaydesk.channels.chat import delivery  # noqa: F401  (registers the web_chat and in_app senders)

__all__: list[str] = []
