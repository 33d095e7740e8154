"""Impact: how many other customers reported the same problem recently.

Each triaged ticket keeps the sentence embedding (all-MiniLM-L6-v2, L2-normalised, stored as float16:
768 bytes) of its first message. A new ticket is compared by cosine with at most ``max_candidates``
of the newest tickets inside the policy's window, so the work per ticket is one embedding and one
bounded matrix-vector product however many tickets the database holds. Embeddings rather than
MinHash because customers describe one outage in different words ("can't log in" / "login page
keeps failing"), which shingle overlap misses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relaydesk.kit.time import utcnow
from relaydesk.ml.embeddings import EmbeddingModelMissingError, embed
from relaydesk.triage.policy import ImpactRule
from relaydesk.triage.repository import TriageRepository

__all__ = ["Impact", "embed_text", "measure_impact"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Impact:
    similar_reports: int = 0
    similar_customers: int = 0
    similar_ticket_ids: list[int] = field(default_factory=list)
    compared: int = 0
    available: bool = True


def embed_text(text: str) -> npt.NDArray[np.float32] | None:
    """The message's embedding (float32, as the classifier takes it; stored as float16), or None when
    the model cannot be loaded (impact is then unknown)."""
    try:
        vector: npt.NDArray[np.float32] = embed([text[:2000]], single_thread=True)[0]
    except EmbeddingModelMissingError:
        log.warning("triage impact: no embedding model; impact is not measured", exc_info=True)
        return None
    return vector


def measure_impact(
    session: Session,
    rule: ImpactRule,
    vector: npt.NDArray[np.float16] | None,
    *,
    ticket_id: int,
    customer_id: int,
) -> Impact:
    if vector is None:
        return Impact(available=False)
    rows = TriageRepository(session).recent_embeddings(
        since=utcnow() - timedelta(minutes=rule.window_minutes),
        exclude_ticket_id=ticket_id,
        limit=rule.max_candidates,
    )
    rows = [r for r in rows if len(r[2]) == vector.nbytes]
    if not rows:
        return Impact()
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16).reshape(len(rows), -1)
    similarity = matrix.astype(np.float32) @ vector.astype(np.float32)
    similar = [rows[i] for i in np.flatnonzero(similarity >= rule.similarity)]
    # The reporter's own other tickets are not more customers affected.
    others = [r for r in similar if r[1] != customer_id]
    return Impact(
        similar_reports=len(others),
        similar_customers=len({r[1] for r in others}),
        similar_ticket_ids=sorted(r[0] for r in others)[:20],
        compared=len(rows),
    )
