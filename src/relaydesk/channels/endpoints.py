"""Provider webhooks (SMS, social) and the admin quarantine API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict

from relaydesk.agents.dependencies import CurrentPrincipal, RequireAdmin
from relaydesk.channels import phone, sms, social
from relaydesk.channels import quarantine as quarantine_service
from relaydesk.channels.intake import IntakeResult, ingest_committed
from relaydesk.channels.models import QuarantineStatus
from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.db import get_database
from relaydesk.kit.ids import RecordId
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.schemas import TicketOut
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["channels"])
_limiter: RateLimiter | None = None


def _rate_limit(request: Request) -> None:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(get_settings().webhook_rate_per_minute)
    _limiter.hit(request.client.host if request.client else "unknown")


async def _read_body(request: Request, channel: str, source: str, meta: dict[str, Any]) -> bytes:
    limit = get_settings().webhook_max_body_bytes
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            await run_in_threadpool(
                quarantine_service.quarantine_unverified,
                channel,
                source,
                "oversize",
                f"The body is over the {limit}-byte limit.",
                body,
                meta,
            )
            raise InputRejectedError("oversize", f"The body is over the {limit}-byte limit.", status_code=413)
    return body


async def _keep_refused(
    channel: str, source: str, exc: InputRejectedError, raw: bytes, meta: dict[str, Any]
) -> None:
    """A refused webhook body stays in quarantine: whole once its signature verified, bounded before."""
    if exc.reason_code == "channel_disabled":
        return
    keep = quarantine_service.quarantine_apart if exc.verified else quarantine_service.quarantine_unverified
    await run_in_threadpool(keep, channel, source, exc.reason_code, exc.message, raw, meta)


async def _receive(
    request: Request, channel: str, source: str, signature_header: str, parse: Any
) -> list[IntakeResult]:
    _rate_limit(request)
    public_url = get_settings().base_url.rstrip("/") + request.url.path
    meta = {
        "url": public_url,
        "signature": request.headers.get(signature_header, ""),
        "content_type": request.headers.get("content-type", ""),
    }
    raw = await _read_body(request, channel, source, meta)
    try:
        parsed = parse(raw, meta)
    except InputRejectedError as exc:
        await _keep_refused(channel, source, exc, raw, meta)
        raise
    messages = parsed if isinstance(parsed, list) else [parsed]
    return await run_in_threadpool(ingest_committed, messages)


@router.post("/webhooks/sms", response_class=Response)
async def sms_webhook(request: Request) -> Response:
    """Inbound SMS; answered only after the message is committed, so the gateway retries otherwise."""
    await _receive(request, "sms", sms.SOURCE, sms.SIGNATURE_HEADER, sms.parse_sms_webhook)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="application/xml"
    )


@router.get("/webhooks/social", response_class=PlainTextResponse)
def social_subscribe(
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=200)] = None,
) -> str:
    return social.verify_subscription(mode, token, challenge)


@router.post("/webhooks/social")
async def social_webhook(request: Request) -> dict[str, int]:
    results = await _receive(
        request, "social", social.SOURCE, social.SIGNATURE_HEADER, social.parse_social_webhook
    )
    return {
        "accepted": sum(not r.duplicate for r in results),
        "duplicates": sum(r.duplicate for r in results),
    }


@router.post("/callbacks/v1/requests", status_code=201)
def request_callback(request: Request, data: phone.CallbackRequest, session: SessionDep) -> dict[str, Any]:
    """Public: a customer (or the bot) asks to be called back, optionally at a preferred time."""
    _rate_limit(request)
    result = phone.request_callback(session, data)
    return {"ticket_id": result.ticket_id, "status": "requested"}


@router.get("/api/v1/callbacks", response_model=list[TicketOut])
def callback_queue(session: SessionDep, principal: CurrentPrincipal) -> list[TicketOut]:
    hidden = tickets.hidden_team_ids(session, principal)
    return [TicketOut.model_validate(t) for t in phone.callback_queue(session, hidden_team_ids=hidden)]


@router.post("/webhooks/phone")
async def phone_webhook(request: Request) -> dict[str, Any]:
    _rate_limit(request)
    meta = {"signature": request.headers.get(phone.SIGNATURE_HEADER, "")}
    raw = await _read_body(request, "phone", phone.SOURCE, meta)
    try:
        event = phone.parse_call_event(raw, meta)
    except InputRejectedError as exc:
        await _keep_refused("phone", phone.SOURCE, exc, raw, meta)
        raise

    def apply() -> tuple[int, bool]:
        with get_database().transaction() as session:
            applied = phone.apply_call_event(session, event)
            return applied.ticket.id, applied.duplicate

    ticket_id, duplicate = await run_in_threadpool(apply)
    return {"ticket_id": ticket_id, "event": event.event, "duplicate": duplicate}


class QuarantinedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    source: str
    reason_code: str
    reason: str
    status: QuarantineStatus
    size: int
    meta: dict[str, Any]


def _out(item: Any) -> QuarantinedOut:
    return QuarantinedOut(
        id=item.id,
        channel=item.channel,
        source=item.source,
        reason_code=item.reason_code,
        reason=item.reason,
        status=item.status,
        size=len(item.raw),
        meta={k: v for k, v in item.meta.items() if k != "signature"},
    )


@router.get("/api/v1/quarantine", response_model=list[QuarantinedOut])
def list_quarantine(
    session: SessionDep, principal: RequireAdmin, status: QuarantineStatus | None = QuarantineStatus.HELD
) -> list[QuarantinedOut]:
    return [_out(item) for item in quarantine_service.list_quarantined(session, status=status)]


@router.get("/api/v1/quarantine/{item_id}/raw")
def quarantine_raw(item_id: RecordId, session: SessionDep, principal: RequireAdmin) -> Response:
    item = quarantine_service.get_quarantined(session, item_id)
    return Response(
        item.raw,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="quarantine-{item_id}.bin"'},
    )


@router.post("/api/v1/quarantine/{item_id}/reprocess")
def reprocess_quarantined(item_id: RecordId, session: SessionDep, principal: RequireAdmin) -> dict[str, Any]:
    results = quarantine_service.reprocess(session, item_id)
    return {
        "status": "reprocessed",
        "message_ids": [r.message_id for r in results],
        "ticket_ids": sorted({r.ticket_id for r in results}),
    }


@router.post("/api/v1/quarantine/{item_id}/discard", response_model=QuarantinedOut)
def discard_quarantined(item_id: RecordId, session: SessionDep, principal: RequireAdmin) -> QuarantinedOut:
    return _out(quarantine_service.discard(session, item_id))
