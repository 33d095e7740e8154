"""The social network's webhook: the subscription handshake and signed events (mounted through
``channels.registry``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from relaydesk.channels.social.parse import SOURCE, parse_social_webhook
from relaydesk.channels.social.verify import SIGNATURE_HEADER, verify_subscription
from relaydesk.channels.webhooks import receive

__all__ = ["router"]

router = APIRouter(tags=["channels"])


@router.get("/webhooks/social", response_class=PlainTextResponse)
def social_subscribe(
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=200)] = None,
) -> str:
    return verify_subscription(mode, token, challenge)


@router.post("/webhooks/social")
async def social_webhook(request: Request) -> dict[str, int]:
    results = await receive(request, "social", SOURCE, SIGNATURE_HEADER, parse_social_webhook)
    return {
        "accepted": sum(not r.duplicate for r in results),
        "duplicates": sum(r.duplicate for r in results),
    }
