"""Routes of the phone channel (mounted through ``channels.registry``): public callback requests, the
agents' callback queue, and the telephony provider's signed call events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.channels.intake import in_intake_transaction
from relaydesk.channels.phone import service
from relaydesk.channels.phone.parse import SOURCE, parse_call_event
from relaydesk.channels.phone.schemas import CallbackOut, CallbackQueueItem, CallbackRequest
from relaydesk.channels.phone.verify import SIGNATURE_HEADER
from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.channels.webhooks import keep_refused, rate_limit, read_body
from relaydesk.db import get_database
from relaydesk.tickets import service as tickets
from relaydesk.tickets.schemas import TicketOut
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["channels"])


@router.post("/callbacks/v1/requests", status_code=201)
def request_callback(request: Request, data: CallbackRequest) -> dict[str, Any]:
    """Public: a customer (or the bot) asks to be called back, optionally at a preferred time."""
    rate_limit(request)
    # Its own transaction, retried on a conflict with another writer (channels.intake).
    result = in_intake_transaction(lambda session: service.request_callback(session, data))
    return {"ticket_id": result.ticket_id, "status": "requested"}


@router.get("/api/v1/callbacks", response_model=list[CallbackQueueItem])
def callback_queue(session: SessionDep, principal: CurrentPrincipal) -> list[CallbackQueueItem]:
    hidden = tickets.hidden_team_ids(session, principal)
    return [
        CallbackQueueItem(
            **TicketOut.model_validate(item.ticket).model_dump(),
            callback=CallbackOut.model_validate(item.callback),
        )
        for item in service.callback_queue(session, hidden_team_ids=hidden)
    ]


@router.post("/webhooks/phone")
async def phone_webhook(request: Request) -> dict[str, Any]:
    rate_limit(request)
    meta = {"signature": request.headers.get(SIGNATURE_HEADER, "")}
    raw = await read_body(request, "phone", SOURCE, meta)
    try:
        event = parse_call_event(raw, meta)
    except InputRejectedError as exc:
        await keep_refused("phone", SOURCE, exc, raw, meta)
        raise

    def apply() -> tuple[int, bool]:
        with get_database().transaction() as session:
            applied = service.apply_call_event(session, event)
            return applied.ticket.id, applied.duplicate

    ticket_id, duplicate = await run_in_threadpool(apply)
    return {"ticket_id": ticket_id, "event": event.event, "duplicate": duplicate}
