"""Routes shared by every channel: the admins' quarantine API. Each adapter's own routes live in its
sub-package (``sms/endpoints.py``, ...) and are mounted through ``channels.registry``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from relaydesk.agents.dependencies import RequireAdmin
from relaydesk.channels import quarantine as quarantine_service
from relaydesk.channels.models import QuarantineStatus
from relaydesk.kit.ids import RecordId
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["channels"])


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
