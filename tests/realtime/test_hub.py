import asyncio
import os
import threading
import uuid

import pytest

from relaydesk.realtime import InProcessHub, RedisHub


def run(coroutine_factory):
    """Run a coroutine on a fresh loop in its own thread (Playwright's sync API owns this one's)."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coroutine_factory())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in result:
        raise result["error"]
    return result["value"]


REDIS_URL = os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _round_trip(publisher, subscriber) -> list[dict]:
    channel = f"ticket:{uuid.uuid4().hex}"
    received: list[dict] = []
    async with subscriber.subscribe(channel) as events:
        await asyncio.sleep(0.05)  # let the subscription register

        async def collect():
            async for event in events:
                received.append(event)
                if len(received) == 2:
                    return

        task = asyncio.create_task(collect())
        await publisher.publish(channel, {"kind": "message.added", "id": 1})
        await publisher.publish(channel, {"kind": "ticket.assigned", "id": 2})
        await asyncio.wait_for(task, timeout=5)
    return received


def test_in_process_hub_delivers_in_order():
    hub = InProcessHub()
    assert [e["id"] for e in run(lambda: _round_trip(hub, hub))] == [1, 2]


def test_redis_hub_reaches_a_subscriber_in_another_hub():
    async def scenario():
        publisher, subscriber = RedisHub(REDIS_URL), RedisHub(REDIS_URL)
        try:
            return await _round_trip(publisher, subscriber)
        finally:
            await publisher.close()
            await subscriber.close()

    try:
        events = run(scenario)
    except ConnectionError as exc:  # pragma: no cover - scripts/test starts Redis
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    assert [e["kind"] for e in events] == ["message.added", "ticket.assigned"]


def test_a_stalled_subscriber_drops_old_events_instead_of_blocking():
    hub = InProcessHub(max_queue=2)

    async def scenario():
        async with hub.subscribe("agent:1") as events:
            for i in range(5):
                await hub.publish("agent:1", {"i": i})
            iterator = aiter(events)
            return [(await anext(iterator))["i"] for _ in range(2)]

    assert run(scenario) == [3, 4]


async def _what_a_bystander_receives(publisher, subscriber) -> list[dict]:
    """One subscriber on channel A, another on channel B: an event for A must never reach B."""
    mine, theirs = f"chat:customer:{uuid.uuid4().hex}", f"chat:customer:{uuid.uuid4().hex}"
    async with subscriber.subscribe(mine) as own_events, subscriber.subscribe(theirs) as their_events:
        await asyncio.sleep(0.05)  # let the subscriptions register
        await publisher.publish(theirs, {"kind": "message.added", "for": "someone else"})
        await publisher.publish(mine, {"kind": "message.added", "for": "me"})
        # Per subscriber, events arrive in publishing order: the first one this subscriber gets shows
        # whether the other channel's event leaked into it.
        first = await asyncio.wait_for(anext(aiter(own_events)), timeout=5)
        assert (await asyncio.wait_for(anext(aiter(their_events)), timeout=5))["for"] == "someone else"
        return [first]


def test_in_process_hub_delivers_only_to_the_channel_s_subscribers():
    hub = InProcessHub()
    assert run(lambda: _what_a_bystander_receives(hub, hub)) == [{"kind": "message.added", "for": "me"}]


def test_redis_hub_delivers_only_to_the_channel_s_subscribers():
    async def scenario():
        publisher, subscriber = RedisHub(REDIS_URL), RedisHub(REDIS_URL)
        try:
            return await _what_a_bystander_receives(publisher, subscriber)
        finally:
            await publisher.close()
            await subscriber.close()

    assert run(scenario) == [{"kind": "message.added", "for": "me"}]


def test_redis_hubs_with_different_prefixes_share_a_server_without_hearing_each_other():
    """Two deployments (or two test runs) on one Redis: the channel prefix keeps their events apart."""
    channel = "ticket:1"  # the same channel name in both: ticket ids restart in every database

    async def scenario():
        ours = RedisHub(REDIS_URL, prefix="deployment-a:")
        theirs = RedisHub(REDIS_URL, prefix="deployment-b:")
        try:
            async with ours.subscribe(channel) as events:
                await asyncio.sleep(0.05)  # let the subscription register
                await theirs.publish(channel, {"from": "b"})
                await ours.publish(channel, {"from": "a"})
                return await asyncio.wait_for(anext(aiter(events)), timeout=5)
        finally:
            await ours.close()
            await theirs.close()

    assert run(scenario) == {"from": "a"}
