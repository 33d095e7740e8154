"""Fan-out from any thread to every subscriber: one hub per event loop (in-process or Redis).

Chat widgets and agent screens subscribe to channels (``ticket:<id>``, ``agent:<id>``, ...); services
publish after their transaction commits. Delivery is best effort: every screen reloads from the
database when it reconnects, so a lost event costs a refresh, never data.

Why per loop: an in-process hub's queues and a Redis hub's connections belong to the event loop that
made them. Replies and routing offers are published from the job worker's thread, so publishing hands
the coroutine to the loop that owns the subscribers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.from_thread

from relaydesk.realtime.hub import InProcessHub, RedisHub, create_hub
from relaydesk.settings import get_settings

__all__ = ["close_loop_hub", "hub", "publish", "publish_from_thread", "subscribe"]

log = logging.getLogger("relaydesk.realtime")

_hubs: dict[asyncio.AbstractEventLoop, InProcessHub | RedisHub] = {}
_lock = threading.Lock()
_REDIS_PREFIX = "relaydesk:"  # the prefix RedisHub uses


def hub() -> InProcessHub | RedisHub:
    """The hub of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    with _lock:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        current = _hubs.get(loop)
        if current is None:
            current = _hubs[loop] = create_hub(get_settings().redis_url)
        return current


async def close_loop_hub() -> None:
    loop = asyncio.get_running_loop()
    with _lock:
        current = _hubs.pop(loop, None)
    if current is not None:
        await current.close()


async def publish(channel: str, event: dict[str, Any]) -> None:
    try:
        await hub().publish(channel, event)
    except Exception:  # best effort: the database is the record, and the caller already committed
        log.warning("realtime: could not publish on %s", channel, exc_info=True)


@asynccontextmanager
async def subscribe(channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    async with hub().subscribe(channel) as events:
        yield events


def publish_from_thread(channel: str, event: dict[str, Any]) -> None:
    """Publish from synchronous code: a request's worker thread, or the job worker's thread."""
    try:
        anyio.from_thread.run(publish, channel, event)
        return
    except RuntimeError:
        pass  # not a thread started by the server's event loop (e.g. the job worker)
    with _lock:
        targets = [(loop, h) for loop, h in _hubs.items() if not loop.is_closed() and loop.is_running()]
    for loop, target in targets:
        future = asyncio.run_coroutine_threadsafe(target.publish(channel, event), loop)
        try:
            future.result(timeout=2)
        except Exception:
            log.warning("realtime: could not publish on %s", channel, exc_info=True)
        if isinstance(target, RedisHub):
            return  # one Redis publish reaches every process
    redis_url = get_settings().redis_url
    if not targets and redis_url:
        # A standalone worker process serves no sockets: hand the event to Redis directly.
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        try:
            client.publish(_REDIS_PREFIX + channel, json.dumps(event, separators=(",", ":")))
        except Exception:
            log.warning("realtime: could not publish on %s", channel, exc_info=True)
        finally:
            client.close()
