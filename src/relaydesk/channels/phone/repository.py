"""Every query of the phone channel's own tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relaydesk.channels.phone.models import CallbackStatus, PhoneCallback

__all__ = ["CallbackRepository"]


class CallbackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: int) -> PhoneCallback | None:
        return self.session.get(PhoneCallback, ticket_id)

    def add(self, callback: PhoneCallback) -> PhoneCallback:
        self.session.add(callback)
        self.session.flush()
        return callback

    def waiting(self) -> Sequence[PhoneCallback]:
        """Callbacks not done yet, soonest preferred time first (no preference: by request time)."""
        return self.session.scalars(
            select(PhoneCallback)
            .where(PhoneCallback.status.in_([CallbackStatus.REQUESTED, CallbackStatus.IN_PROGRESS]))
            .order_by(
                func.coalesce(PhoneCallback.preferred_at, PhoneCallback.requested_at), PhoneCallback.ticket_id
            )
        ).all()
