"""Tickets announce every change to agent screens after commit, never before, never on rollback, and
never on a customer's channel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest

from relaydesk.realtime import fanout
from relaydesk.realtime.channels import INBOX_CHANNEL, ticket_channel
from relaydesk.tickets import service as tickets
from relaydesk.tickets.schemas import MessageCreate
from tests.factories import make_agent, make_ticket
from tests.workspace.conftest import on_plain_thread


class Listener:
    """Subscribers on an event loop of their own thread (as a server's), collecting what arrives."""

    def __init__(self, channels: list[str]) -> None:
        self.loop = asyncio.new_event_loop()
        self.received: dict[str, list[dict]] = {channel: [] for channel in channels}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            for channel in self.received:
                events = await stack.enter_async_context(fanout.subscribe(channel))
                stack.push_async_callback(_cancel, asyncio.create_task(self._collect(channel, events)))
            self._ready.set()
            await self._stop.wait()

    async def _collect(self, channel: str, events) -> None:
        async for event in events:
            self.received[channel].append(event)

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def settled(self) -> dict[str, list[dict]]:
        """What arrived, once the loop has run every task that was ready."""
        self.run(asyncio.sleep(0.05))
        return {channel: list(events) for channel, events in self.received.items()}

    def __enter__(self) -> Listener:
        self.thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)
        self.loop.close()


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()


@pytest.fixture
def ticket(database) -> Iterator[tuple[int, int]]:
    """(a ticket, its customer)."""
    ticket_id = make_ticket(database)
    with database.transaction(read_only=True) as session:
        found = tickets.get_ticket(session, ticket_id)
        assert found is not None
        yield ticket_id, found.customer_id


def _note(database, ticket_id: int, agent_id: int, body: str, fail: bool = False) -> int:
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        assert ticket is not None
        message = tickets.add_agent_message(session, ticket, MessageCreate(body=body, public=False), agent_id)
        if fail:
            raise RuntimeError("the request failed after the note was written")
        return message.id


def test_a_rolled_back_change_announces_nothing_and_a_committed_one_announces_once(database, ticket):
    ticket_id, customer_id = ticket
    agent = make_agent(database)
    channels = [ticket_channel(ticket_id), INBOX_CHANNEL, f"chat:customer:{customer_id}"]
    with Listener(channels) as listener:
        with pytest.raises(RuntimeError):
            on_plain_thread(_note, database, ticket_id, agent.agent_id, "never stored", True)
        assert listener.settled() == {channel: [] for channel in channels}

        note_id = on_plain_thread(_note, database, ticket_id, agent.agent_id, "Internal: refund approved")
        received = listener.settled()
    assert received[ticket_channel(ticket_id)] == [
        {
            "type": "message",
            "ticket_id": ticket_id,
            "kind": "note.added",
            "message_id": note_id,
            "public": False,
            "channel": "internal",
        }
    ]
    assert received[INBOX_CHANNEL] == [{"type": "inbox"}]  # one per transaction, naming no ticket
    # The customer's own channel (their chat widget) hears nothing of an internal note.
    assert received[f"chat:customer:{customer_id}"] == []


def test_nothing_is_announced_before_the_commit(database, ticket):
    ticket_id, _ = ticket
    agent = make_agent(database)
    with Listener([ticket_channel(ticket_id)]) as listener, database.transaction() as session:
        found = tickets.get_ticket(session, ticket_id)
        assert found is not None
        tickets.add_agent_message(session, found, MessageCreate(body="hm", public=False), agent.agent_id)
        session.flush()
        assert listener.settled()[ticket_channel(ticket_id)] == []


def test_a_commit_on_the_event_loop_s_own_thread_announces_without_blocking_it(database, ticket):
    ticket_id, _ = ticket
    agent = make_agent(database)
    with Listener([ticket_channel(ticket_id)]) as listener:

        async def commit_on_the_loop() -> int:
            return _note(database, ticket_id, agent.agent_id, "from async code")

        note_id = listener.run(commit_on_the_loop())
        events = listener.settled()[ticket_channel(ticket_id)]
    assert [e["message_id"] for e in events] == [note_id]
