"""The SMS gateway's webhook (mounted through ``channels.registry``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from relaydesk.channels.sms.parse import SOURCE, parse_sms_webhook
from relaydesk.channels.sms.verify import SIGNATURE_HEADER
from relaydesk.channels.webhooks import receive

__all__ = ["router"]

router = APIRouter(tags=["channels"])


@router.post("/webhooks/sms", response_class=Response)
async def sms_webhook(request: Request) -> Response:
    """Inbound SMS; answered only after the message is committed, so the gateway retries otherwise."""
    await receive(request, "sms", SOURCE, SIGNATURE_HEADER, parse_sms_webhook)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="application/xml"
    )
