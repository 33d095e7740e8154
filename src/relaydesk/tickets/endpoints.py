"""REST routes of the tickets domain (/api/v1/tickets and their messages, events, attachments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, UploadFile, status
from fastapi.responses import Response

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.kit.errors import NotFoundError, PermissionDeniedError
from relaydesk.kit.ids import RecordId
from relaydesk.settings import get_settings
from relaydesk.tickets import service
from relaydesk.tickets.attachments import read_file
from relaydesk.tickets.enums import Channel, Priority, QueueKind, TicketSort, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Attachment, Message
from relaydesk.tickets.repository import TicketFilters
from relaydesk.tickets.schemas import (
    AttachmentOut,
    EventOut,
    EventPage,
    Flag,
    MessageCreate,
    MessageOut,
    StatusChange,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketUpdate,
)
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

# The one router app.py mounts: the REST API below (the pages are the workspace's).
router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["tickets"])
Limit = Annotated[int, Query(ge=1, le=200)]


@api.post("/tickets", response_model=TicketOut, status_code=status.HTTP_201_CREATED)
def create_ticket(data: TicketCreate, session: SessionDep, principal: CurrentPrincipal) -> TicketOut:
    # Filing into a restricted team is allowed (a frontline agent escalating to legal); the filer
    # sees what they wrote now, and the team's restriction applies from then on.
    return TicketOut.model_validate(service.file_ticket(session, data, Actor.of(principal)))


@api.get("/tickets", response_model=TicketPage)
def list_tickets(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[list[TicketStatus] | None, Query(alias="status")] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    team_id: RecordId | None = None,
    assignee_id: RecordId | None = None,
    unassigned: bool = False,
    customer_id: RecordId | None = None,
    channel: Channel | None = None,
    category: str | None = None,
    queue: Annotated[list[QueueKind] | None, Query()] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    flag: Annotated[list[Flag] | None, Query(max_length=10)] = None,
    sort: TicketSort = TicketSort.NEWEST,
    cursor: str | None = None,
    limit: Limit = 50,
) -> TicketPage:
    filters = TicketFilters(
        status=status_,
        priority=priority,
        team_id=team_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        customer_id=customer_id,
        channel=channel,
        category=category,
        queue=queue,
        language=language,
        flags=frozenset(flag or ()),
    )
    items, next_cursor = service.list_tickets(
        session, principal, filters, cursor=cursor, limit=limit, sort=sort
    )
    return TicketPage(items=[TicketOut.model_validate(t) for t in items], next_cursor=next_cursor)


@api.get("/tickets/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> TicketOut:
    return TicketOut.model_validate(service.get_visible_ticket(session, ticket_id, principal))


@api.patch("/tickets/{ticket_id}", response_model=TicketOut)
def update_ticket(
    ticket_id: RecordId, data: TicketUpdate, session: SessionDep, principal: CurrentPrincipal
) -> TicketOut:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    return TicketOut.model_validate(service.update_ticket(session, ticket, data, Actor.of(principal)))


@api.post("/tickets/{ticket_id}/status", response_model=TicketOut)
def change_status(
    ticket_id: RecordId, data: StatusChange, session: SessionDep, principal: CurrentPrincipal
) -> TicketOut:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    return TicketOut.model_validate(service.change_status(session, ticket, data, Actor.of(principal)))


@api.get("/tickets/{ticket_id}/messages", response_model=list[MessageOut])
def list_messages(ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> list[MessageOut]:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    return [MessageOut.model_validate(m) for m in service.list_messages(session, ticket)]


@api.post("/tickets/{ticket_id}/messages", response_model=MessageOut, status_code=status.HTTP_201_CREATED)
def add_message(
    ticket_id: RecordId, data: MessageCreate, session: SessionDep, principal: CurrentPrincipal
) -> MessageOut:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    message = service.add_agent_message(session, ticket, data, principal.agent_id)
    return MessageOut.model_validate(message)


@api.post(
    "/tickets/{ticket_id}/messages/{message_id}/attachments",
    response_model=AttachmentOut,
    status_code=status.HTTP_201_CREATED,
)
async def upload_attachment(
    ticket_id: RecordId,
    message_id: RecordId,
    file: UploadFile,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AttachmentOut:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    message = session.get(Message, message_id)
    if message is None or message.ticket_id != ticket.id:
        raise NotFoundError(f"No message {message_id} on ticket {ticket_id}.")
    if message.author_agent_id is None or message.author_agent_id != principal.agent_id:
        raise PermissionDeniedError("Only the agent who wrote a message can attach files to it.")
    if len(message.attachments) >= get_settings().max_attachments_per_message:
        raise PermissionDeniedError("This message already has the maximum number of attachments.")
    # Read one byte past the limit so an oversized upload is refused without buffering all of it.
    payload = await file.read(get_settings().max_upload_bytes + 1)
    attachment = service.attach_file(
        session,
        message,
        filename=file.filename or "attachment",
        content_type=file.content_type or "application/octet-stream",
        payload=payload,
    )
    return AttachmentOut.model_validate(attachment)


@api.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def download_attachment(
    ticket_id: RecordId, attachment_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.message.ticket_id != ticket.id:
        raise NotFoundError(f"No attachment {attachment_id} on ticket {ticket_id}.")
    return Response(
        read_file(attachment.storage_key),
        media_type=attachment.content_type,
        headers={
            # Never render customer uploads inline in the agent's origin.
            "Content-Disposition": f'attachment; filename="{attachment.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@api.get("/tickets/{ticket_id}/events", response_model=EventPage)
def list_events(
    ticket_id: RecordId,
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Limit = 100,
) -> EventPage:
    ticket = service.get_visible_ticket(session, ticket_id, principal)
    items, next_cursor = service.list_events(session, ticket, cursor=cursor, limit=limit)
    return EventPage(items=[EventOut.model_validate(e) for e in items], next_cursor=next_cursor)


router.include_router(api)
