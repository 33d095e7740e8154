"""Abuse limits of the public chat API: requests and new visitors per client address, messages per
visitor, frames per WebSocket connection (``kit.ratelimit``, in process memory like every public limit).

Kept on the application object rather than in a module global so that each app (and each test's
app) counts on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import State

from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings

__all__ = ["ChatLimits", "limits_for"]


@dataclass
class ChatLimits:
    requests: RateLimiter
    messages: RateLimiter
    frames_per_minute: int
    # Visitor tokens minted per client address: the per-visitor message limit means nothing if a
    # client can start afresh as a new visitor whenever it is reached.
    new_visitors: RateLimiter
    _signature: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))

    def request(self, client_address: str) -> None:
        self.requests.hit(client_address)

    def message(self, visitor_key: str) -> None:
        self.messages.hit(visitor_key)

    def new_visitor(self, client_address: str) -> None:
        self.new_visitors.hit(client_address)

    def connection(self) -> RateLimiter:
        return RateLimiter(self.frames_per_minute, max_keys=1)


def limits_for(state: State) -> ChatLimits:
    settings = get_settings()
    signature = (
        settings.chat_requests_per_minute,
        settings.chat_messages_per_minute,
        settings.chat_frames_per_minute,
        settings.chat_new_visitors_per_minute,
    )
    current: ChatLimits | None = getattr(state, "chat_limits", None)
    if current is None or current._signature != signature:
        current = ChatLimits(
            RateLimiter(settings.chat_requests_per_minute),
            RateLimiter(settings.chat_messages_per_minute),
            settings.chat_frames_per_minute,
            RateLimiter(settings.chat_new_visitors_per_minute),
            signature,
        )
        state.chat_limits = current
    return current
