"""Every query of SLA."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from relaydesk.sla.enums import ClockState, SlaTarget
from relaydesk.sla.models import SlaClock, SlaFollow

__all__ = ["SlaRepository"]


class SlaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def clocks_of(self, ticket_id: int) -> dict[SlaTarget, SlaClock]:
        rows = self.session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket_id))
        return {SlaTarget(row.target): row for row in rows}

    def follow_of(self, ticket_id: int) -> SlaFollow:
        follow = self.session.get(SlaFollow, ticket_id)
        if follow is None:
            follow = SlaFollow(ticket_id=ticket_id, last_event_id=0)
            self.session.add(follow)
        return follow

    # What an at-risk or breach event says.
    _DUE_COLUMNS = (
        SlaClock.id,
        SlaClock.ticket_id,
        SlaClock.target,
        SlaClock.cycle,
        SlaClock.target_seconds,
        SlaClock.policy_name,
        SlaClock.policy_version,
    )

    def _due_ids(self, *where: Any, order: Any, limit: int) -> Any:
        # Locked, and rows another tick holds are skipped (PostgreSQL; SQLite's one writer serialises).
        return (
            select(SlaClock.id).where(*where).order_by(order).limit(limit).with_for_update(skip_locked=True)
        ).scalar_subquery()

    def take_due_at_risk(self, now: datetime, limit: int) -> Sequence[Any]:
        """Turn running clocks whose at-risk moment has come at risk; returns them (``moment``: when)."""
        due = self._due_ids(
            SlaClock.state == ClockState.RUNNING,
            SlaClock.at_risk_at <= now,
            order=SlaClock.at_risk_at,
            limit=limit,
        )
        return self.session.execute(
            update(SlaClock)
            .where(SlaClock.id.in_(due))
            .values(state=ClockState.AT_RISK, at_risk_reached_at=SlaClock.at_risk_at, at_risk_at=None)
            .returning(*self._DUE_COLUMNS, SlaClock.at_risk_reached_at.label("moment"))
            .execution_options(synchronize_session=False)
        ).all()

    def take_due_breaches(self, now: datetime, limit: int) -> Sequence[Any]:
        """Turn running or at-risk clocks past their due time breached; returns them (``moment``: due)."""
        due = self._due_ids(
            SlaClock.state.in_((ClockState.RUNNING, ClockState.AT_RISK)),
            SlaClock.due_at <= now,
            order=SlaClock.due_at,
            limit=limit,
        )
        return self.session.execute(
            update(SlaClock)
            .where(SlaClock.id.in_(due))
            .values(state=ClockState.BREACHED, breached_at=SlaClock.due_at, due_at=None, at_risk_at=None)
            .returning(*self._DUE_COLUMNS, SlaClock.breached_at.label("moment"))
            .execution_options(synchronize_session=False)
        ).all()

    def earliest_due(self, ticket_id: int, targets: Collection[SlaTarget]) -> datetime | None:
        return self.session.scalar(
            select(func.min(SlaClock.due_at)).where(
                SlaClock.ticket_id == ticket_id,
                SlaClock.target.in_(list(targets)),
                SlaClock.state.in_((ClockState.RUNNING, ClockState.AT_RISK)),
            )
        )

    def next_due_by_ticket(self, ticket_ids: Collection[int]) -> dict[int, datetime]:
        """Each ticket's nearest due time among its running clocks (the inbox's countdown)."""
        if not ticket_ids:
            return {}
        rows = self.session.execute(
            select(SlaClock.ticket_id, func.min(SlaClock.due_at))
            .where(
                SlaClock.ticket_id.in_(list(ticket_ids)),
                SlaClock.state.in_((ClockState.RUNNING, ClockState.AT_RISK)),
                SlaClock.due_at.is_not(None),
            )
            .group_by(SlaClock.ticket_id)
        )
        return {ticket_id: due for ticket_id, due in rows if due is not None}
