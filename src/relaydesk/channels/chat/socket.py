"""The chat WebSocket: one connection per open widget (or app screen).

Client → server frames::

    {"type": "message", "client_id": "...", "body": "..."}   a visitor message (acknowledged once stored)
    {"type": "typing", "typing": true}                        the visitor is typing (to agent screens)
    {"type": "ping"}

Server → client frames::

    {"type": "ready", "visitor_id", "verified", "messages": [...]}   messages after ?after=<id>, if given
    {"type": "ack", "client_id", "duplicate", "message": {...}}       stored ("delivered")
    {"type": "message", "message": {...}}                             a reply, or the visitor's other tab
    {"type": "typing", "typing", "author_name"}                       an agent is typing
    {"type": "error", "error": {"code", "message", "details"?}, "client_id"?}
    {"type": "pong"}

A refused connection is accepted, told why in one error frame, and closed with 4000 + the HTTP
status (4401 bad credentials, 4403 origin or identity refused, 4429 too many connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from relaydesk.channels.chat import live, service
from relaydesk.channels.chat.http import client_address, credentials_from
from relaydesk.channels.chat.identity import ChatClient
from relaydesk.channels.chat.limits import limits_for
from relaydesk.channels.chat.schemas import ChatMessageIn, ContactIn
from relaydesk.kit.errors import BadRequestError, PayloadTooLargeError, RelaydeskError
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import QueueKind

__all__ = ["ChatSocket"]

log = logging.getLogger("relaydesk.chat")

# The queues routing announces moves of (``queue_moved`` on ``queue:<name>``).
ROUTED_QUEUES = (QueueKind.LIVE.value, QueueKind.MESSAGING.value)


def _error_frame(exc: RelaydeskError, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", **exc.to_dict()}
    if client_id:
        frame["client_id"] = client_id
    return frame


class ChatSocket:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.limits = limits_for(websocket.app.state)
        self.frames = self.limits.connection()
        self._send_lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._waiting: asyncio.Task[None] | None = None
        self._queues: list[asyncio.Task[None]] = []
        self._client: ChatClient | None = None
        self._notice: dict[str, Any] | None = None  # the waiting notice this socket last sent
        self._rereading = False
        self._reread_again = False
        self.customer_id: int | None = None
        self.ticket_id: int | None = None
        self.socket_id = secrets.token_hex(8)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(frame, separators=(",", ":"), default=str))

    async def run(self) -> None:
        try:
            self.limits.request(client_address(self.websocket))
            client = await run_in_threadpool(service.authenticate, credentials_from(self.websocket))
        except RelaydeskError as exc:
            await self.websocket.accept()
            await self.send(_error_frame(exc))
            await self.websocket.close(code=4000 + exc.status_code, reason=exc.code)
            return
        await self.websocket.accept()
        try:
            await self._serve(client)
        except WebSocketDisconnect:
            pass
        finally:
            for task in (self._pump, self._waiting, *self._queues):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _serve(self, client: ChatClient) -> None:
        self._client = client
        # Listen for this visitor's first message before looking them up: one sent from another tab
        # (or over REST) between the lookup and the subscription would otherwise go unnoticed.
        self._waiting = await self._subscribe(
            live.identity_channel(client.identity_kind.value, client.identity_value), self._on_identity_event
        )
        customer_id = await run_in_threadpool(service.customer_id_for, client)
        missed: list[dict[str, Any]] = []
        after = self.websocket.query_params.get("after", "")
        if customer_id is not None:
            await self._follow(customer_id)
            if after.isdigit():
                history = await run_in_threadpool(
                    service.conversation, client, after_id=int(after), limit=200
                )
                missed = [m.model_dump(mode="json") for m in history.messages]
            notice = await run_in_threadpool(service.waiting_for, client)
            self._notice = notice.model_dump(mode="json") if notice is not None else None
        await self.send(
            {
                "type": "ready",
                "visitor_id": client.visitor_id,
                "verified": client.verified,
                "messages": missed,
                "waiting": self._notice,
                "ask_contact": customer_id is not None
                and await run_in_threadpool(service.asks_contact, client),
            }
        )
        max_bytes = get_settings().chat_max_body_bytes
        while True:
            text = await self.websocket.receive_text()
            try:
                self.frames.hit("connection")
                if len(text.encode()) > max_bytes:
                    raise PayloadTooLargeError(f"The frame is over the {max_bytes}-byte limit.")
                await self._handle(client, text)
            except RelaydeskError as exc:
                await self.send(_error_frame(exc, _client_id_of(text)))

    async def _handle(self, client: ChatClient, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            raise BadRequestError("A frame must be a JSON object with a 'type'.") from None
        if not isinstance(frame, dict):
            raise BadRequestError("A frame must be a JSON object with a 'type'.")
        kind = frame.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "typing":
            if self.ticket_id is not None:
                await live.publish(
                    live.ticket_channel(self.ticket_id),
                    {
                        "type": "customer.typing",
                        "ticket_id": self.ticket_id,
                        "typing": bool(frame.get("typing")),
                    },
                )
        elif kind == "message":
            await self._message(client, frame)
        elif kind == "contact":
            await self._contact(client, frame)
        else:
            raise BadRequestError(
                f"Unknown frame type {kind!r}; use 'message', 'contact', 'typing' or 'ping'."
            )

    async def _contact(self, client: ChatClient, frame: dict[str, Any]) -> None:
        try:
            data = ContactIn.model_validate({k: v for k, v in frame.items() if k != "type"})
        except ValidationError as exc:
            summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            raise _Invalid(f"The name or email is not valid: {summary}") from None
        self.limits.message(client.rate_key)
        saved = await run_in_threadpool(service.save_contact, client, data)
        await self.send({"type": "contact_saved", **saved.model_dump(mode="json")})

    async def _message(self, client: ChatClient, frame: dict[str, Any]) -> None:
        try:
            data = ChatMessageIn.model_validate({k: v for k, v in frame.items() if k != "type"})
        except ValidationError as exc:
            summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            raise _Invalid(f"The message is not valid: {summary}") from None
        service.check_size(data.body)  # a refused message does not count against the visitor
        self.limits.message(client.rate_key)
        received = await run_in_threadpool(service.receive_message, client, data)
        self.ticket_id = received.ticket_id
        if self._pump is None:
            # The first message made the customer: from now on their replies reach this socket.
            await self._follow(received.customer_id)
        message = received.sent.message.model_dump(mode="json")
        await self.send(
            {
                "type": "ack",
                "client_id": data.client_id,
                "duplicate": received.sent.duplicate,
                "message": message,
            }
        )
        if not received.sent.duplicate:
            await live.announce_visitor_message(
                identity_kind=received.identity_kind,
                identity_value=received.identity_value,
                customer_id=received.customer_id,
                ticket_id=received.ticket_id,
                message=message,
                via=self.socket_id,
            )

    async def _follow(self, customer_id: int) -> None:
        """Receive the customer's replies, typing and other tabs' messages from now on."""
        if self._pump is not None:
            return
        self._pump = await self._subscribe(live.customer_channel(customer_id), self._forward)
        # The visitor's place in the queue is pushed: re-read whenever a routed queue moves.
        self._queues = [
            await self._subscribe(live.queue_channel(queue), self._on_queue_moved) for queue in ROUTED_QUEUES
        ]
        waiting, self._waiting = self._waiting, None
        if waiting is not None and waiting is not asyncio.current_task():
            waiting.cancel()

    async def _forward(self, event: dict[str, Any]) -> bool:
        if isinstance(event.get("ticket_id"), int):
            self.ticket_id = event["ticket_id"]  # where the visitor's typing is shown to agents
        if event.get("via") != self.socket_id:
            await self.send({k: v for k, v in event.items() if k not in live.INTERNAL_KEYS})
        return True

    async def _on_queue_moved(self, event: dict[str, Any]) -> bool:
        """Send the waiting notice when it changed. Moves that come while it is being read fold into one
        more read, so a burst of assignments costs each socket two reads, not one per move."""
        if self._rereading:
            self._reread_again = True
            return True
        self._rereading = True
        try:
            while True:
                self._reread_again = False
                await self._send_notice()
                if not self._reread_again:
                    return True
        finally:
            self._rereading = False

    async def _send_notice(self) -> None:
        if self._client is None:
            return
        notice = await run_in_threadpool(service.waiting_for, self._client)
        frame = notice.model_dump(mode="json") if notice is not None else None
        if frame != self._notice:
            self._notice = frame
            await self.send({"type": "waiting", "waiting": frame})

    async def _on_identity_event(self, event: dict[str, Any]) -> bool:
        customer_id = event.get("customer_id")
        if self._pump is not None or not isinstance(customer_id, int):
            return self._pump is None
        await self._follow(customer_id)
        await self._forward(event)
        return False  # following the customer's channel now; this one is done

    async def _subscribe(
        self, channel: str, on_event: Callable[[dict[str, Any]], Awaitable[bool]]
    ) -> asyncio.Task[None]:
        return await live.follow(channel, on_event, what="a chat socket")


class _Invalid(RelaydeskError):
    status_code = 422
    code = "validation_failed"


def _client_id_of(text: str) -> str | None:
    try:
        value = json.loads(text).get("client_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and len(value) <= 64 else None
