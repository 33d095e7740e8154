"""A hub publishes small JSON events on named channels ("ticket:42", "agent:7") to subscribers.

One API process uses ``InProcessHub``; several processes serving the same organisation use
``RedisHub`` so an event published by one reaches screens connected to another. Delivery is
best-effort by design: the durable record is always the database (events, outbox), and a screen that
reconnects reloads from there.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

__all__ = ["Hub", "InProcessHub", "RedisHub", "create_hub"]


class Hub(Protocol):
    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any: ...

    async def close(self) -> None: ...


class InProcessHub:
    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._max_queue = max_queue

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            if queue.full():
                # A stalled screen must not block everyone else; it reloads from the database.
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max_queue)
        self._subscribers[channel].add(queue)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()


class RedisHub:
    def __init__(self, url: str, *, prefix: str = "relaydesk:") -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + channel, json.dumps(event, separators=(",", ":")))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._prefix + channel)

        async def events() -> AsyncIterator[dict[str, Any]]:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield json.loads(message["data"])

        try:
            yield events()
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()


def create_hub(redis_url: str | None, *, prefix: str = "relaydesk:") -> InProcessHub | RedisHub:
    return RedisHub(redis_url, prefix=prefix) if redis_url else InProcessHub()
