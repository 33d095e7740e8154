"""Fan-out from any thread to every subscriber: one hub per event loop (in-process or Redis).

Chat widgets and agent screens subscribe to channels (``ticket:<id>``, ``agent:<id>``, ...); services
publish after their transaction commits. Delivery is best effort: every screen reloads from the
database when it reconnects, so a lost event costs a refresh, never data.

Services publish with ``publish_after_commit(session, channel, event)``: the event waits in the
session until its transaction commits (SQLAlchemy's ``after_commit``, as ``jobs.enqueue`` wakes the
worker), so a screen never hears of a change that rolled back, and one that commits is announced
without the caller knowing whether it runs on a request's thread, the job worker's or the event loop.

Why per loop: an in-process hub's queues and a Redis hub's connections belong to the event loop that
made them. Replies and routing offers are published from the job worker's thread, so publishing hands
the coroutine to the loop that owns the subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.from_thread
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from relaydesk.realtime.hub import InProcessHub, RedisHub, create_hub
from relaydesk.settings import get_settings

__all__ = [
    "close_loop_hub",
    "follow",
    "hub",
    "publish",
    "publish_after_commit",
    "publish_from_thread",
    "publish_many_from_thread",
    "subscribe",
]

log = logging.getLogger("relaydesk.realtime")

_hubs: dict[asyncio.AbstractEventLoop, InProcessHub | RedisHub] = {}
_lock = threading.Lock()


def hub() -> InProcessHub | RedisHub:
    """The hub of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    with _lock:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        current = _hubs.get(loop)
        if current is None:
            settings = get_settings()
            current = _hubs[loop] = create_hub(settings.redis_url, prefix=settings.redis_channel_prefix)
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
    publish_many_from_thread([(channel, event)])


async def _publish_all(events: list[tuple[str, dict[str, Any]]]) -> None:
    for channel, event in events:
        await publish(channel, event)


async def _publish_all_on(target: InProcessHub | RedisHub, events: list[tuple[str, dict[str, Any]]]) -> None:
    for channel, event in events:
        try:
            await target.publish(channel, event)
        except Exception:
            log.warning("realtime: could not publish on %s", channel, exc_info=True)


async def follow(
    channel: str, on_event: Callable[[dict[str, Any]], Awaitable[bool]], *, what: str
) -> asyncio.Task[None]:
    """Pass ``channel``'s events to ``on_event`` in a task until it answers False; returns once the
    subscription is in place (at most 5 s), so an event published right after cannot slip past."""
    subscribed = asyncio.Event()

    async def pump() -> None:
        async with subscribe(channel) as events:
            subscribed.set()
            async for event in events:
                if not await on_event(event):
                    return

    def log_failure(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("realtime: %s stopped following %s", what, channel, exc_info=task.exception())

    task = asyncio.create_task(pump())
    task.add_done_callback(log_failure)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(subscribed.wait(), timeout=5)
    return task


_background: set[asyncio.Task[None]] = set()
_warned_nowhere = False


def publish_many_from_thread(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish several events, in order, from synchronous code (any thread, the event loop's included)."""
    global _warned_nowhere
    if not events:
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    with _lock:
        serves_sockets = running is not None and running in _hubs
    if running is not None and serves_sockets:
        # Synchronous code on the loop's own thread (an async route that committed): waiting for the
        # loop here would deadlock it, so the publish runs as soon as this code yields. Only a loop
        # that has a hub, i.e. serves subscribers: a loop that merely looks current on this thread
        # (Playwright's sync API leaves its own loop set as running) would hold the events forever.
        task = running.create_task(_publish_all(events))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return
    try:
        anyio.from_thread.run(_publish_all, events)
        return
    except RuntimeError:
        pass  # not a thread started by the server's event loop (e.g. the job worker)
    with _lock:
        targets = [(loop, h) for loop, h in _hubs.items() if not loop.is_closed() and loop.is_running()]
    for loop, target in targets:
        future = asyncio.run_coroutine_threadsafe(_publish_all_on(target, events), loop)
        try:
            future.result(timeout=2)
        except Exception:
            log.warning("realtime: could not publish %d events", len(events), exc_info=True)
        if isinstance(target, RedisHub):
            return  # one Redis publish reaches every process
    settings = get_settings()
    redis_url, prefix = settings.redis_url, settings.redis_channel_prefix
    if not targets and redis_url:
        # A standalone worker process serves no sockets: hand the events to Redis directly.
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        try:
            for channel, event in events:
                client.publish(prefix + channel, json.dumps(event, separators=(",", ":")))
        except Exception:
            log.warning("realtime: could not publish %d events", len(events), exc_info=True)
        finally:
            client.close()
    elif not targets and not _warned_nowhere:
        # No socket is served by this process and there is no Redis to reach other processes: said
        # once (screens still reload from the database), so a missing RELAYDESK_REDIS_URL is noticed.
        _warned_nowhere = True
        log.info("realtime: no screen is connected to this process and no Redis is set; events stay local")


# --- After commit -----------------------------------------------------------------------------------

_PENDING = "relaydesk_realtime_pending"


def publish_after_commit(session: Session, channel: str, event: dict[str, Any]) -> None:
    """Publish ``event`` on ``channel`` once ``session``'s transaction commits; never if it rolls back.

    Identical events of one transaction go out once (three changes to a ticket refresh a count once).
    """
    pending: dict[tuple[str, str], dict[str, Any]] = session.info.setdefault(_PENDING, {})
    pending.setdefault((channel, json.dumps(event, sort_keys=True, default=str)), event)


@sa_event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    pending: dict[tuple[str, str], dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if pending:
        try:
            publish_many_from_thread([(channel, event) for (channel, _), event in pending.items()])
        except Exception:  # the commit stands whatever the fan-out does
            log.warning("realtime: could not publish after commit", exc_info=True)


@sa_event.listens_for(Session, "after_rollback")
def _forget_uncommitted(session: Session) -> None:
    session.info.pop(_PENDING, None)
