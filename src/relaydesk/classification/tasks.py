"""Scheduled retraining: a periodic job finds heads whose policy says they are due and retrains them.

A head is due when ``classifier_heads.retrain_every_hours`` is set (``relaydesk model schedule``) and
that much time has passed since ``last_retrained_at``, and a training source is registered for it with
``service.register_training_source`` (triage registers "resolved tickets"). Each due head gets one
``classification.retrain_head`` job per slot (dedupe key), which reloads the data and trains.

Retraining is idempotent: a version already trained from the same data (same fingerprint) is not
trained again, so a retried or re-leased job does no harm. A training that runs longer than the job
lease (``RELAYDESK_JOB_LEASE_SECONDS``) may be started twice; the fingerprint check keeps one version.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from relaydesk.classification import service
from relaydesk.classification.classifier import TrainingOptions
from relaydesk.jobs import JobLane, enqueue, periodic, task
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.time import utcnow

__all__ = ["data_fingerprint", "enqueue_due_retraining", "retrain_head"]

log = logging.getLogger(__name__)


def data_fingerprint(texts: list[str], labels: list[str]) -> str:
    digest = hashlib.sha256()
    for text, label in sorted(zip(texts, labels, strict=True)):
        digest.update(text.encode())
        digest.update(b"\x1f")
        digest.update(label.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:32]


@periodic("classification.enqueue_due_retraining", every=timedelta(minutes=15))
def enqueue_due_retraining(session: Session) -> int:
    """Enqueue a retraining job for every head whose retraining policy is due; returns how many."""
    now = utcnow()
    sources = service.training_sources()
    count = 0
    for head in service.scheduled_heads(session):
        assert head.retrain_every_hours is not None
        if head.head not in sources:
            log.warning("head %s is scheduled for retraining but no training source is registered", head.head)
            continue
        due = head.last_retrained_at is None or now - head.last_retrained_at >= timedelta(
            hours=head.retrain_every_hours
        )
        if not due:
            continue
        slot = int(now.timestamp() // (head.retrain_every_hours * 3600))
        if enqueue(
            session, "classification.retrain_head", dedupe_key=f"retrain:{head.head}:{slot}", head=head.head
        ):
            count += 1
    return count


# Minutes of work nobody waits on: the bulk lane, so it never holds up triage, replies or routing.
@task("classification.retrain_head", max_attempts=2, lease_seconds=3600, lane=JobLane.BULK)
def retrain_head_job(session: Session, head: str) -> None:
    head_row = service.get_head(session, head)
    retrain_head(session, head, activate=bool(head_row and head_row.retrain_activate))


def retrain_head(
    session: Session, head: str, *, activate: bool = False, options: TrainingOptions | None = None
) -> dict[str, Any]:
    """Retrain ``head`` from its registered training source; a no-op when the data has not changed."""
    source = service.training_sources().get(head)
    if source is None:
        raise NotFoundError(
            f"no training source is registered for head {head!r} (service.register_training_source)"
        )
    source_name, fetch = source
    texts, labels = fetch(session)
    fingerprint = data_fingerprint(texts, labels)
    trained = service.version_trained_on(session, head, fingerprint)
    if trained is not None:
        service.mark_retrained(session, head)
        return {"head": head, "skipped": "unchanged data", "version": trained.version}
    version = service.train_version(
        session, head, texts, labels, source=f"source:{source_name}", activate=activate, options=options
    )
    version.data_summary = {**(version.data_summary or {}), "fingerprint": fingerprint}
    service.mark_retrained(session, head)
    session.flush()
    return service.version_summary(version)
