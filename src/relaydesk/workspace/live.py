"""The agent WebSocket ``/ws/agent``: one per open agent page, fed by the realtime fan-out.

It is authenticated by the agent's session cookie and accepts only connections whose ``Origin`` is
Relaydesk itself (a cookie rides along with any page's WebSocket, so the origin is what stops a
foreign page from listening in). It follows ``agent:<id>`` and ``inbox`` from the start, and
``ticket:<id>`` for each ticket the page asks to watch, once the agent may see it.

Client → server frames::

    {"type": "watch", "ticket_id": 42}                  follow a ticket (the ticket page sends it)
    {"type": "unwatch", "ticket_id": 42}
    {"type": "typing", "ticket_id": 42, "typing": true}  the agent is typing a reply (collision warning)
    {"type": "ping"}

Server → client frames::

    {"type": "ready", "agent_id"}
    {"type": "ticket", "event": {...}}        an event of a watched ticket (``type`` message or event, ...)
    {"type": "agent", "event": {...}}         offers, notifications, reclaimed tickets for this agent
    {"type": "inbox"}                         some ticket changed: refresh the counts (names no ticket)
    {"type": "presence", "ticket_id", "viewers": [{"agent_id", "name", "typing"}]}   other agents here
    {"type": "watching", "ticket_id"} / {"type": "unwatched", "ticket_id", "reason"}
    {"type": "error", "error": {"code", "message"}}
    {"type": "pong"}

A refused connection is accepted, told why in one error frame, and closed with 4000 + the HTTP status
(4401 not signed in or session ended, 4403 foreign origin), as the chat socket does.

**Collision warning.** Who is viewing or typing in a ticket travels as ``presence`` heartbeats on the
ticket's own fan-out channel, so it works across API processes when Redis carries the fan-out. Each
socket announces itself when it starts watching (``hello``: every other viewer answers at once), then
every ``HEARTBEAT_SECONDS``, and says goodbye when it stops; a viewer not heard from for
``PRESENCE_TTL`` (a crashed process) is dropped. No process keeps a shared list: each socket keeps
the viewers it has heard from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from relaydesk.agents.dependencies import agent_from_cookie, principal_for
from relaydesk.auth.roles import Principal
from relaydesk.auth.sessions import SESSION_COOKIE
from relaydesk.db import get_database
from relaydesk.kit.errors import (
    BadRequestError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RelaydeskError,
)
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.kit.time import utcnow
from relaydesk.realtime.channels import INBOX_CHANNEL, agent_channel, ticket_channel
from relaydesk.realtime.fanout import follow, publish
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.web.origins import is_own_origin

__all__ = ["HEARTBEAT_SECONDS", "MAX_FRAME_BYTES", "MAX_WATCHED", "PRESENCE_TTL", "AgentSocket", "router"]

log = logging.getLogger("relaydesk.workspace")
router = APIRouter(include_in_schema=False)

# Agent frames are a few ids; the server's WebSocket message limit (``max_request_bytes``, passed to
# uvicorn as ``ws_max_size``) bounds what is buffered, this bounds what is parsed.
MAX_FRAME_BYTES = 4096
MAX_WATCHED = 20  # tickets one page may follow (a ticket page follows one)
FRAMES_PER_MINUTE = 600
HEARTBEAT_SECONDS = 10.0
PRESENCE_TTL = timedelta(seconds=30)
TYPING_TTL = timedelta(seconds=8)  # typing that is not refreshed stops showing
SESSION_RECHECK_SECONDS = 60.0  # a session ended elsewhere (sign out everywhere) closes the socket
# Keys only servers read (the chat widget's socket ids, its customer): never sent to a page.
_INTERNAL_KEYS = frozenset({"via", "customer_id"})


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    await AgentSocket(websocket).run()


@dataclass(frozen=True)
class SignedIn:
    agent_id: int
    name: str
    principal: Principal


def _sign_in(cookie: str | None) -> SignedIn:
    with get_database().transaction() as session:
        agent = agent_from_cookie(session, cookie)
        if agent is None:
            raise NotAuthenticatedError("Sign in again: this page's session has ended.")
        return SignedIn(agent.id, agent.name, principal_for(agent))


def _check_visible(ticket_id: int, principal: Principal) -> None:
    with get_database().transaction(read_only=True) as session:
        tickets.get_visible_ticket(session, ticket_id, principal)


@dataclass
class Peer:
    agent_id: int
    name: str
    typing: bool
    seen_at: datetime


@dataclass
class Watch:
    ticket_id: int
    pump: asyncio.Task[None] | None = None
    peers: dict[str, Peer] = field(default_factory=dict)  # by socket id
    typing_at: datetime | None = None
    shown: list[dict[str, Any]] = field(default_factory=list)  # what the page shows now

    @property
    def typing(self) -> bool:
        return self.typing_at is not None and utcnow() - self.typing_at < TYPING_TTL


class AgentSocket:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.socket_id = secrets.token_hex(8)
        self.frames = RateLimiter(FRAMES_PER_MINUTE, max_keys=1)
        self.watches: dict[int, Watch] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self._send_lock = asyncio.Lock()
        self.me: SignedIn | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(frame, separators=(",", ":"), default=str))

    async def run(self) -> None:
        try:
            if not is_own_origin(self.websocket):
                raise PermissionDeniedError("This socket serves Relaydesk's own pages only (foreign origin).")
            self.me = await run_in_threadpool(_sign_in, self.websocket.cookies.get(SESSION_COOKIE))
        except RelaydeskError as exc:
            await self.websocket.accept()
            await self.send({"type": "error", **exc.to_dict()})
            await self.websocket.close(code=4000 + exc.status_code, reason=exc.code)
            return
        await self.websocket.accept()
        try:
            await self._serve()
        except WebSocketDisconnect:
            pass
        finally:
            await self._stop()

    async def _serve(self) -> None:
        me = self.me
        assert me is not None
        self.tasks.append(await self._subscribe(agent_channel(me.agent_id), self._on_agent_event))
        self.tasks.append(await self._subscribe(INBOX_CHANNEL, self._on_inbox_event))
        self.tasks.append(asyncio.create_task(self._heartbeats()))
        await self.send({"type": "ready", "agent_id": me.agent_id})
        max_bytes = min(MAX_FRAME_BYTES, get_settings().max_request_bytes)
        while True:
            text = await self.websocket.receive_text()
            try:
                self.frames.hit("connection")
                if len(text.encode()) > max_bytes:
                    raise PayloadTooLargeError(f"The frame is over the {max_bytes}-byte limit.")
                await self._handle(text)
            except RelaydeskError as exc:
                await self.send({"type": "error", **exc.to_dict()})

    async def _handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            raise BadRequestError("A frame must be a JSON object with a 'type'.") from None
        if not isinstance(frame, dict):
            raise BadRequestError("A frame must be a JSON object with a 'type'.")
        kind = frame.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind not in {"watch", "unwatch", "typing"}:
            raise BadRequestError(f"Unknown frame type {kind!r}; use 'watch', 'unwatch', 'typing' or 'ping'.")
        ticket_id = frame.get("ticket_id")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or not 0 < ticket_id < 2**63:
            raise BadRequestError("'ticket_id' must be a ticket's id (a positive integer).")
        if kind == "watch":
            await self._watch(ticket_id)
        elif kind == "unwatch":
            await self._unwatch(ticket_id, reason=None)
        else:
            watch = self.watches.get(ticket_id)
            if watch is None:
                raise BadRequestError(f"Watch ticket {ticket_id} before saying you type in it.")
            was = watch.typing
            watch.typing_at = utcnow() if frame.get("typing") is True else None
            if watch.typing != was:
                await self._announce(watch)

    async def _watch(self, ticket_id: int) -> None:
        assert self.me is not None
        if ticket_id in self.watches:
            await self.send({"type": "watching", "ticket_id": ticket_id})
            return
        if len(self.watches) >= MAX_WATCHED:
            raise BadRequestError(f"A page follows at most {MAX_WATCHED} tickets; unwatch one first.")
        # A restricted team's ticket answers as a missing one: its events never reach an outsider.
        await run_in_threadpool(_check_visible, ticket_id, self.me.principal)
        watch = self.watches[ticket_id] = Watch(ticket_id)

        async def on_event(event: dict[str, Any]) -> bool:
            return await self._on_ticket_event(watch, event)

        watch.pump = await self._subscribe(ticket_channel(ticket_id), on_event)
        await self.send({"type": "watching", "ticket_id": ticket_id})
        await self._announce(watch, hello=True)

    async def _unwatch(self, ticket_id: int, *, reason: str | None) -> None:
        watch = self.watches.pop(ticket_id, None)
        if watch is None:
            return
        if watch.pump is not None and watch.pump is not asyncio.current_task():
            watch.pump.cancel()
        await self._announce(watch, leaving=True)
        frame: dict[str, Any] = {"type": "unwatched", "ticket_id": ticket_id}
        if reason:
            frame["reason"] = reason
        with contextlib.suppress(Exception):
            await self.send(frame)

    # --- Events from the fan-out ---------------------------------------------------------------------

    async def _on_agent_event(self, event: dict[str, Any]) -> bool:
        await self.send({"type": "agent", "event": event})
        return True

    async def _on_inbox_event(self, event: dict[str, Any]) -> bool:
        # Counts only: which ticket changed is not said, so a restricted ticket's activity stays unseen.
        await self.send({"type": "inbox"})
        return True

    async def _on_ticket_event(self, watch: Watch, event: dict[str, Any]) -> bool:
        if self.watches.get(watch.ticket_id) is not watch:
            return False
        if event.get("type") == "presence":
            await self._on_presence(watch, event)
            return True
        if event.get("kind") == "ticket.team_changed":
            # The ticket may have moved into a restricted team this agent is outside of.
            assert self.me is not None
            try:
                await run_in_threadpool(_check_visible, watch.ticket_id, self.me.principal)
            except NotFoundError:
                await self._unwatch(watch.ticket_id, reason="The ticket moved to a team you cannot see.")
                return False
        await self.send(
            {"type": "ticket", "event": {k: v for k, v in event.items() if k not in _INTERNAL_KEYS}}
        )
        return True

    async def _on_presence(self, watch: Watch, event: dict[str, Any]) -> None:
        socket = event.get("socket")
        agent_id = event.get("agent_id")
        if not isinstance(socket, str) or socket == self.socket_id or not isinstance(agent_id, int):
            return
        if event.get("leaving"):
            watch.peers.pop(socket, None)
        else:
            known = socket in watch.peers
            watch.peers[socket] = Peer(
                agent_id, str(event.get("name", ""))[:120], bool(event.get("typing")), utcnow()
            )
            if not known and event.get("hello"):
                await self._announce(watch)  # the newcomer learns at once that this agent is here too
        await self._show(watch)

    async def _show(self, watch: Watch) -> None:
        """Send the page who else is here, when that changed (another tab of this agent is not "else")."""
        assert self.me is not None
        now = utcnow()
        for socket, peer in list(watch.peers.items()):
            if now - peer.seen_at > PRESENCE_TTL:
                del watch.peers[socket]
        viewers: dict[int, dict[str, Any]] = {}
        for peer in watch.peers.values():
            if peer.agent_id == self.me.agent_id:
                continue
            seen = viewers.setdefault(
                peer.agent_id, {"agent_id": peer.agent_id, "name": peer.name, "typing": False}
            )
            seen["typing"] = seen["typing"] or peer.typing
        shown = sorted(viewers.values(), key=lambda v: (v["name"], v["agent_id"]))
        if shown != watch.shown:
            watch.shown = shown
            with contextlib.suppress(Exception):
                await self.send({"type": "presence", "ticket_id": watch.ticket_id, "viewers": shown})

    async def _announce(self, watch: Watch, *, hello: bool = False, leaving: bool = False) -> None:
        assert self.me is not None
        event: dict[str, Any] = {
            "type": "presence",
            "ticket_id": watch.ticket_id,
            "socket": self.socket_id,
            "agent_id": self.me.agent_id,
            "name": self.me.name,
            "typing": watch.typing and not leaving,
        }
        if hello:
            event["hello"] = True
        if leaving:
            event["leaving"] = True
        await publish(ticket_channel(watch.ticket_id), event)

    async def _heartbeats(self) -> None:
        assert self.me is not None
        since_check = 0.0
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for watch in list(self.watches.values()):
                await self._announce(watch)
                await self._show(watch)  # drops viewers not heard from
            since_check += HEARTBEAT_SECONDS
            if since_check >= SESSION_RECHECK_SECONDS:
                since_check = 0.0
                try:
                    await run_in_threadpool(_sign_in, self.websocket.cookies.get(SESSION_COOKIE))
                except NotAuthenticatedError as exc:
                    with contextlib.suppress(Exception):
                        await self.send({"type": "error", **exc.to_dict()})
                        await self.websocket.close(code=4401, reason=exc.code)
                    return

    async def _stop(self) -> None:
        for ticket_id in list(self.watches):
            with contextlib.suppress(Exception):
                await self._unwatch(ticket_id, reason=None)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _subscribe(
        self, channel: str, on_event: Callable[[dict[str, Any]], Awaitable[bool]]
    ) -> asyncio.Task[None]:
        return await follow(channel, on_event, what="an agent socket")
