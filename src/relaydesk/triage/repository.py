"""Every query of the triage domain (its own tables; tickets are read through tickets.service)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.triage.models import MissingInfoRequest, TicketTriage, TrainingExample, TriageCorrection

__all__ = ["TriageRepository"]


class TriageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- per-ticket results ---------------------------------------------------------------------

    def for_ticket(self, ticket_id: int) -> TicketTriage | None:
        return self.session.scalar(select(TicketTriage).where(TicketTriage.ticket_id == ticket_id))

    def recent_embeddings(
        self, *, since: datetime, exclude_ticket_id: int | None, limit: int
    ) -> Sequence[tuple[int, int, bytes]]:
        """(ticket id, customer id, embedding) of the newest triaged tickets since ``since``."""
        query = (
            select(TicketTriage.ticket_id, TicketTriage.customer_id, TicketTriage.embedding)
            .where(TicketTriage.created_at >= since, TicketTriage.embedding.is_not(None))
            .order_by(TicketTriage.created_at.desc())
            .limit(limit)
        )
        if exclude_ticket_id is not None:
            query = query.where(TicketTriage.ticket_id != exclude_ticket_id)
        return [(r[0], r[1], r[2]) for r in self.session.execute(query) if r[2] is not None]

    # --- corrections ----------------------------------------------------------------------------

    def correction_for_event(self, event_id: int) -> TriageCorrection | None:
        return self.session.scalar(select(TriageCorrection).where(TriageCorrection.event_id == event_id))

    def corrections_for_ticket(self, ticket_id: int) -> Sequence[TriageCorrection]:
        return self.session.scalars(
            select(TriageCorrection)
            .where(TriageCorrection.ticket_id == ticket_id)
            .order_by(TriageCorrection.id)
        ).all()

    # --- training data --------------------------------------------------------------------------

    def imported_examples(self, head: str) -> Sequence[TrainingExample]:
        return self.session.scalars(
            select(TrainingExample).where(TrainingExample.head == head).order_by(TrainingExample.id)
        ).all()

    def imported_hashes(self, head: str) -> set[tuple[str, str]]:
        rows = self.session.execute(
            select(TrainingExample.text_sha256, TrainingExample.label).where(TrainingExample.head == head)
        )
        return {(h, label) for h, label in rows}

    def corrected_ticket_ids(self, head: str) -> set[int]:
        """Tickets on which an agent corrected ``head``: training data whatever their status."""
        return set(
            self.session.scalars(select(TriageCorrection.ticket_id).where(TriageCorrection.head == head))
        )

    # --- the missing-information loop -----------------------------------------------------------

    def info_request(self, ticket_id: int) -> MissingInfoRequest | None:
        return self.session.scalar(
            select(MissingInfoRequest).where(MissingInfoRequest.ticket_id == ticket_id)
        )
