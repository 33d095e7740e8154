"""Every query of the escalation domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.escalation.enums import AckState
from relaydesk.escalation.models import Escalation

__all__ = ["EscalationRepository"]


class EscalationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, escalation_id: int) -> Escalation | None:
        return self.session.get(Escalation, escalation_id, populate_existing=True)

    def history(self, ticket_id: int) -> Sequence[Escalation]:
        """The ticket's moves, oldest first."""
        return self.session.scalars(
            select(Escalation).where(Escalation.ticket_id == ticket_id).order_by(Escalation.id)
        ).all()

    def latest(self, ticket_id: int) -> Escalation | None:
        return self.session.scalars(
            select(Escalation)
            .where(Escalation.ticket_id == ticket_id)
            .order_by(Escalation.id.desc())
            .limit(1)
        ).first()

    def awaiting(self, ticket_id: int) -> Escalation | None:
        """The ticket's escalation that waits for its pickup (at most one)."""
        return self.session.scalars(
            select(Escalation).where(
                Escalation.ticket_id == ticket_id, Escalation.ack_state == AckState.AWAITING
            )
        ).first()
