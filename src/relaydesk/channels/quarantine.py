"""Quarantine: input that cannot be parsed or trusted is kept with the reason, never dropped (an
unverified webhook body bounded: digest, size and first bytes, see ``quarantine_unverified``).

Each source registers a reprocessor that turns the stored raw bytes (and request metadata) back into
an ``InboundMessage`` with today's code and secrets, so an admin can re-run it after a fix.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import IntakeResult, ingest
from relaydesk.channels.models import QuarantinedInput, QuarantineStatus
from relaydesk.db import get_database
from relaydesk.kit.errors import ConflictError, NotFoundError, RelaydeskError, ValidationFailedError
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings

__all__ = [
    "InputRejectedError",
    "describe_invalid",
    "discard",
    "get_quarantined",
    "list_quarantined",
    "quarantine",
    "quarantine_apart",
    "quarantine_unverified",
    "register_reprocessor",
    "reprocess",
]

log = logging.getLogger("relaydesk.channels.quarantine")

Reprocessor = Callable[[bytes, dict[str, Any]], list[InboundMessage]]
_reprocessors: dict[str, Reprocessor] = {}


class InputRejectedError(RelaydeskError):
    """An adapter refused input; it has been quarantined and the sender gets this 4xx.

    ``verified`` says the input's signature checked out before it was refused (a provider's event in
    a shape we cannot take): it is kept whole. Unverified input is anyone's and is kept bounded
    (``quarantine_unverified``).
    """

    status_code = 400
    code = "input_rejected"

    def __init__(
        self, reason_code: str, message: str, *, status_code: int = 400, verified: bool = False
    ) -> None:
        super().__init__(message, details={"reason": reason_code})
        self.reason_code = reason_code
        self.status_code = status_code  # type: ignore[misc]
        self.verified = verified


def describe_invalid(exc: ValidationError) -> str:
    """A validation error in one line that names each field and what is wrong with it (the reason)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_url=False)[:5]
    )


def register_reprocessor(source: str) -> Callable[[Reprocessor], Reprocessor]:
    def register(function: Reprocessor) -> Reprocessor:
        _reprocessors[source] = function
        return function

    return register


def quarantine(
    session: Session,
    *,
    channel: str,
    source: str,
    reason_code: str,
    reason: str,
    raw: bytes,
    meta: dict[str, Any] | None = None,
) -> QuarantinedInput:
    item = QuarantinedInput(
        channel=channel, source=source, reason_code=reason_code, reason=reason, raw=raw, meta=meta or {}
    )
    session.add(item)
    session.flush()
    return item


def quarantine_apart(
    channel: str, source: str, reason_code: str, reason: str, raw: bytes, meta: dict[str, Any] | None = None
) -> None:
    """``quarantine`` in its own transaction: the input is refused with a 4xx, but it must stay."""
    with get_database().transaction() as session:
        quarantine(
            session,
            channel=channel,
            source=source,
            reason_code=reason_code,
            reason=reason,
            raw=raw,
            meta=meta,
        )


def quarantine_unverified(
    channel: str, source: str, reason_code: str, reason: str, raw: bytes, meta: dict[str, Any] | None = None
) -> QuarantinedInput | None:
    """Keep an unverified body bounded: its digest, size and first bytes, at most a cap per source.

    Anyone can post to a webhook URL; kept whole and without limit, refused bodies would fill the
    database. A body shorter than the kept prefix stays whole, so a genuine provider message refused
    for a wrong secret can still be reprocessed once the secret is fixed. Over the cap, the refusal is
    logged and nothing is stored (the sender still gets its 4xx).
    """
    settings = get_settings()
    keep = settings.quarantine_unverified_keep_bytes
    with get_database().transaction() as session:
        held = session.scalar(
            select(func.count())
            .select_from(QuarantinedInput)
            .where(QuarantinedInput.source == source, QuarantinedInput.status == QuarantineStatus.HELD)
        )
        if (held or 0) >= settings.quarantine_unverified_cap_per_source:
            log.warning(
                "quarantine for %s is full (%d held); not keeping a refused %d-byte body (%s)",
                source,
                held,
                len(raw),
                reason_code,
            )
            return None
        summary = {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "truncated": len(raw) > keep}
        return quarantine(
            session,
            channel=channel,
            source=source,
            reason_code=reason_code,
            reason=reason,
            raw=raw[:keep],
            meta={**(meta or {}), "unverified_body": summary},
        )


def list_quarantined(
    session: Session, *, status: QuarantineStatus | None = QuarantineStatus.HELD, limit: int = 100
) -> Sequence[QuarantinedInput]:
    stmt = select(QuarantinedInput).order_by(QuarantinedInput.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(QuarantinedInput.status == status)
    return session.scalars(stmt).all()


def get_quarantined(session: Session, item_id: int) -> QuarantinedInput:
    item = session.get(QuarantinedInput, item_id)
    if item is None:
        raise NotFoundError(f"No quarantined input with id {item_id}.")
    return item


def reprocess(session: Session, item_id: int) -> list[IntakeResult]:
    """Run a held input through its source's parser again; on success it becomes a normal message."""
    item = get_quarantined(session, item_id)
    if item.status is not QuarantineStatus.HELD:
        raise ConflictError(f"Quarantined input {item_id} is already {item.status}.")
    reprocessor = _reprocessors.get(item.source)
    if reprocessor is None:
        raise ValidationFailedError(f"Inputs from {item.source!r} cannot be reprocessed automatically.")
    if (item.meta.get("unverified_body") or {}).get("truncated"):
        raise ConflictError(
            f"Quarantined input {item_id} kept only the first {len(item.raw)} bytes of an unverified "
            "body; it cannot be reprocessed (the provider can resend it)."
        )
    try:
        inbound = reprocessor(item.raw, item.meta)
    except InputRejectedError as exc:
        raise ConflictError(f"Still rejected: {exc.message}", details={"reason": exc.reason_code}) from None
    results = [ingest(session, message) for message in inbound]
    item.status = QuarantineStatus.REPROCESSED
    item.resolved_at = utcnow()
    item.resolved_message_id = results[0].message_id if results else None
    return results


def discard(session: Session, item_id: int) -> QuarantinedInput:
    item = get_quarantined(session, item_id)
    if item.status is not QuarantineStatus.HELD:
        raise ConflictError(f"Quarantined input {item_id} is already {item.status}.")
    item.status = QuarantineStatus.DISCARDED
    item.resolved_at = utcnow()
    return item
