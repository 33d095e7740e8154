"""Quarantine: input that cannot be parsed or trusted is kept whole with the reason, never dropped.

Each source registers a reprocessor that turns the stored raw bytes (and request metadata) back into
an ``InboundMessage`` with today's code and secrets, so an admin can re-run it after a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import IntakeResult, ingest
from relaydesk.channels.models import QuarantinedInput, QuarantineStatus
from relaydesk.db import get_database
from relaydesk.kit.errors import ConflictError, NotFoundError, RelaydeskError, ValidationFailedError
from relaydesk.kit.time import utcnow

__all__ = [
    "InputRejectedError",
    "discard",
    "get_quarantined",
    "list_quarantined",
    "quarantine",
    "quarantine_apart",
    "register_reprocessor",
    "reprocess",
]

Reprocessor = Callable[[bytes, dict[str, Any]], list[InboundMessage]]
_reprocessors: dict[str, Reprocessor] = {}


class InputRejectedError(RelaydeskError):
    """An adapter refused input; it has been quarantined and the sender gets this 4xx."""

    status_code = 400
    code = "input_rejected"

    def __init__(self, reason_code: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message, details={"reason": reason_code})
        self.reason_code = reason_code
        self.status_code = status_code  # type: ignore[misc]


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
