"""HTTP routes of web chat and in-app messaging (mounted in relaydesk.app).

Public, for the widget and apps (rate-limited, size-limited, CORS): ``GET /chat/v1/conversation``,
``POST /chat/v1/messages``, ``WS /chat/v1/ws``. Admins: ``/api/v1/chat/sites``. Agents:
``POST /api/v1/tickets/{id}/typing``. Pages: ``/chat/demo``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, FastAPI, Query, Request, WebSocket, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, RequireAdmin
from relaydesk.channels.chat import live, pages, service
from relaydesk.channels.chat.http import CORS_HEADERS, client_address, credentials_from
from relaydesk.channels.chat.limits import limits_for
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.chat.schemas import (
    ChatMessageIn,
    ChatSiteCreate,
    ChatSiteOut,
    ChatSiteUpdate,
    ContactIn,
    ContactOut,
    ConversationOut,
    SentOut,
    TypingIn,
)
from relaydesk.channels.chat.socket import ChatSocket
from relaydesk.kit.errors import PayloadTooLargeError
from relaydesk.kit.ids import MAX_ID, RecordId
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.web.cors import CorsRoute
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

_Model = TypeVar("_Model", bound=BaseModel)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await live.close_loop_hub()


router = APIRouter(lifespan=_lifespan)
router.include_router(pages.router)
public = APIRouter(route_class=CorsRoute, tags=["chat"])


def _guard(request: Request) -> None:
    limits_for(request.app.state).request(client_address(request))
    limit = get_settings().chat_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The request body is over the {limit}-byte limit.")


async def _message_from(request: Request) -> ChatMessageIn:
    return await _body_as(request, ChatMessageIn)


async def _body_as(request: Request, model: type[_Model]) -> _Model:
    """Read at most the body limit (a chunked body declares no length), then validate it."""
    limit = get_settings().chat_max_body_bytes
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"The request body is over the {limit}-byte limit.")
    try:
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


@public.options("/chat/v1/{path:path}", include_in_schema=False)
def preflight(path: str) -> Response:
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


@public.get("/chat/v1/conversation", response_model=ConversationOut)
async def get_conversation(
    request: Request,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only messages after this id (polling)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> ConversationOut:
    """The visitor's conversation; without a valid visitor token it issues one (``visitor_token``)."""
    _guard(request)
    address = client_address(request)
    client = await run_in_threadpool(
        service.authenticate,
        credentials_from(request),
        mint=True,
        before_mint=lambda: limits_for(request.app.state).new_visitor(address),
    )
    return await run_in_threadpool(service.conversation, client, after_id=after, limit=limit)


@public.post(
    "/chat/v1/messages",
    response_model=SentOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChatMessageIn.model_json_schema()}},
        }
    },
)
async def post_message(request: Request) -> Response:
    """A visitor message; resending the same ``client_id`` returns the stored one (200, duplicate)."""
    _guard(request)
    data = await _message_from(request)
    credentials = credentials_from(request)
    limits = limits_for(request.app.state)

    def accept() -> service.Received:
        # One trip to the thread pool for the whole unit: check who it is, count it, store it.
        evidence = {"client_id": data.client_id, "body": data.body}
        client = service.authenticate(credentials, evidence=evidence)
        service.check_size(data.body)
        limits.message(client.rate_key)
        return service.receive_message(client, data)

    received = await run_in_threadpool(accept)
    # Already a validated model: answered as is, without a second validation pass (hot path).
    answer = Response(received.sent.model_dump_json(), media_type="application/json")
    if received.sent.duplicate:
        answer.status_code = status.HTTP_200_OK
        return answer
    answer.status_code = status.HTTP_201_CREATED
    await live.announce_visitor_message(
        identity_kind=received.identity_kind,
        identity_value=received.identity_value,
        customer_id=received.customer_id,
        ticket_id=received.ticket_id,
        message=received.sent.message.model_dump(mode="json"),
    )
    return answer


@public.post(
    "/chat/v1/contact",
    response_model=ContactOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ContactIn.model_json_schema()}},
        }
    },
)
async def post_contact(request: Request) -> ContactOut:
    """The visitor's name and email, asked by the widget when a person is about to answer
    (``ask_contact`` in the conversation). The email is kept unverified and never merges customers."""
    _guard(request)
    data = await _body_as(request, ContactIn)
    credentials = credentials_from(request)
    limits = limits_for(request.app.state)

    def save() -> ContactOut:
        client = service.authenticate(credentials)
        limits.message(client.rate_key)  # counted like a message: it writes to the customer record
        return service.save_contact(client, data)

    return await run_in_threadpool(save)


router.include_router(public)


@router.websocket("/chat/v1/ws")
async def chat_socket(websocket: WebSocket) -> None:
    await ChatSocket(websocket).run()


# --- admin: sites ---------------------------------------------------------------------------------


def _site_out(site: ChatSite, *, with_secret: bool = False) -> ChatSiteOut:
    out = ChatSiteOut.model_validate(site)
    out.embed_snippet = service.embed_snippet(site)
    out.secret = site.secret if with_secret else None
    return out


@router.get("/api/v1/chat/sites", response_model=list[ChatSiteOut], tags=["chat"])
def list_sites(session: SessionDep, principal: RequireAdmin) -> list[ChatSiteOut]:
    return [_site_out(site) for site in service.list_sites(session)]


@router.post("/api/v1/chat/sites", response_model=ChatSiteOut, status_code=201, tags=["chat"])
def create_site(data: ChatSiteCreate, session: SessionDep, principal: RequireAdmin) -> ChatSiteOut:
    """A new site; the answer holds its identity secret, which is not shown again."""
    return _site_out(service.create_site(session, data), with_secret=True)


@router.patch("/api/v1/chat/sites/{site_id}", response_model=ChatSiteOut, tags=["chat"])
def update_site(
    site_id: RecordId, data: ChatSiteUpdate, session: SessionDep, principal: RequireAdmin
) -> ChatSiteOut:
    return _site_out(service.update_site(session, site_id, data))


@router.post("/api/v1/chat/sites/{site_id}/rotate-secret", response_model=ChatSiteOut, tags=["chat"])
def rotate_site_secret(site_id: RecordId, session: SessionDep, principal: RequireAdmin) -> ChatSiteOut:
    return _site_out(service.rotate_secret(session, site_id), with_secret=True)


# --- agents: typing -------------------------------------------------------------------------------


@router.post("/api/v1/tickets/{ticket_id}/typing", status_code=202, tags=["chat"])
def agent_typing(
    ticket_id: RecordId, data: TypingIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Show "<name> is typing…" in the customer's chat widget; send again every few seconds."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    name = ""
    if principal.agent_id is not None:
        name = (agents.get_agent(session, principal.agent_id).name.split() or [""])[0]
    live.publish_from_thread(
        live.customer_channel(ticket.customer_id),
        {"type": "typing", "ticket_id": ticket.id, "typing": data.typing, "author_name": name},
    )
    return {"ticket_id": ticket.id, "typing": data.typing}
