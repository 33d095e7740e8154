"""The edge every provider webhook shares: a rate limit per client, a body size cap, signature and
parse failures kept in quarantine, and intake in one transaction acknowledged only after the commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from relaydesk.channels import quarantine as quarantine_service
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import IntakeResult, ingest_committed
from relaydesk.channels.quarantine import InputRejectedError
from relaydesk.kit.ratelimit import RateLimiter
from relaydesk.settings import get_settings

__all__ = ["Parser", "keep_refused", "rate_limit", "read_body", "receive"]

# A provider's parser: verify the signature, validate, normalise (one message or several per call).
Parser = Callable[[bytes, dict[str, Any]], InboundMessage | list[InboundMessage]]

_limiter: RateLimiter | None = None


def rate_limit(request: Request) -> None:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(get_settings().webhook_rate_per_minute)
    _limiter.hit(request.client.host if request.client else "unknown")


async def read_body(request: Request, channel: str, source: str, meta: dict[str, Any]) -> bytes:
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


async def keep_refused(
    channel: str, source: str, exc: InputRejectedError, raw: bytes, meta: dict[str, Any]
) -> None:
    """A refused webhook body stays in quarantine: whole once its signature verified, bounded before."""
    if exc.reason_code == "channel_disabled":
        return
    keep = quarantine_service.quarantine_apart if exc.verified else quarantine_service.quarantine_unverified
    await run_in_threadpool(keep, channel, source, exc.reason_code, exc.message, raw, meta)


async def receive(
    request: Request, channel: str, source: str, signature_header: str, parse: Parser
) -> list[IntakeResult]:
    rate_limit(request)
    public_url = get_settings().base_url.rstrip("/") + request.url.path
    meta = {
        "url": public_url,
        "signature": request.headers.get(signature_header, ""),
        "content_type": request.headers.get("content-type", ""),
    }
    raw = await read_body(request, channel, source, meta)
    try:
        parsed = parse(raw, meta)
    except InputRejectedError as exc:
        await keep_refused(channel, source, exc, raw, meta)
        raise
    messages = parsed if isinstance(parsed, list) else [parsed]
    return await run_in_threadpool(ingest_committed, messages)
