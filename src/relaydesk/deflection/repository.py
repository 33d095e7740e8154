"""Every query of the deflection domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from relaydesk.deflection.enums import ArticleFeedback, SessionOutcome, SessionSource
from relaydesk.deflection.models import SuggestedArticle, SuggestionQuery, SuggestionSession
from relaydesk.tickets.enums import Channel

__all__ = ["DeflectionRepository"]

# Sessions whose outcome a later ticket can still change.
_LINKABLE = (SessionOutcome.PENDING, SessionOutcome.DEFLECTED_CONFIRMED)


class DeflectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_public_id(self, public_id: str) -> SuggestionSession | None:
        return self.session.scalar(select(SuggestionSession).where(SuggestionSession.public_id == public_id))

    def email_ack_for_ticket(self, ticket_id: int) -> SuggestionSession | None:
        return self.automatic_for_ticket(ticket_id, SessionSource.EMAIL_ACK)

    def automatic_for_ticket(self, ticket_id: int, source: SessionSource) -> SuggestionSession | None:
        """The session an automatic answer of this kind (email acknowledgement, bot) opened for a ticket."""
        return self.session.scalar(
            select(SuggestionSession).where(
                SuggestionSession.ticket_id == ticket_id, SuggestionSession.source == source
            )
        )

    def linkable_for_contact(
        self,
        *,
        customer_id: int,
        visitor_ids: Sequence[str],
        ticket_id: int,
        active_since: datetime,
        before: datetime,
    ) -> Sequence[SuggestionSession]:
        """Sessions a new customer message escalates: that customer's (by id or by a visitor identity),
        still open to a ticket, active within the window before the message."""
        who = [SuggestionSession.customer_id == customer_id]
        if visitor_ids:
            who.append(SuggestionSession.visitor_id.in_(visitor_ids))
        return self.session.scalars(
            select(SuggestionSession)
            .where(
                or_(*who),
                SuggestionSession.outcome.in_(_LINKABLE),
                or_(
                    SuggestionSession.ticket_id.is_(None),
                    # Later messages in the ticket an acknowledgement answered; a bot's own
                    # conversation is the bot's to settle (handoff or "solved"), not every reply's.
                    and_(
                        SuggestionSession.ticket_id == ticket_id,
                        SuggestionSession.source != SessionSource.BOT,
                    ),
                ),
                SuggestionSession.last_activity_at >= active_since,
                SuggestionSession.created_at <= before,
            )
            .order_by(SuggestionSession.id)
        ).all()

    def open_visit(
        self, visitor_id: str, source: SessionSource, active_since: datetime
    ) -> SuggestionSession | None:
        """The visitor's newest pending session of this source active since then (a visit going on)."""
        return self.session.scalar(
            select(SuggestionSession)
            .where(
                SuggestionSession.visitor_id == visitor_id,
                SuggestionSession.source == source,
                SuggestionSession.outcome == SessionOutcome.PENDING,
                SuggestionSession.last_activity_at >= active_since,
            )
            .order_by(SuggestionSession.last_activity_at.desc(), SuggestionSession.id.desc())
            .limit(1)
        )

    def settle_pending(self, *, inactive_before: datetime, now: datetime) -> tuple[int, int]:
        """Pending sessions past the window: with a ticket they escalated, without one they deflected."""
        base = and_(
            SuggestionSession.outcome == SessionOutcome.PENDING,
            SuggestionSession.last_activity_at < inactive_before,
        )
        escalated = self._count(
            update(SuggestionSession)
            .where(base, SuggestionSession.ticket_id.is_not(None))
            .values(outcome=SessionOutcome.ESCALATED, outcome_at=now)
            .execution_options(synchronize_session=False)
        )
        deflected = self._count(
            update(SuggestionSession)
            .where(base, SuggestionSession.ticket_id.is_(None))
            .values(outcome=SessionOutcome.DEFLECTED_NO_TICKET, outcome_at=now)
            .execution_options(synchronize_session=False)
        )
        return deflected, escalated

    def _count(self, statement: Any) -> int:
        result = self.session.execute(statement)
        return int(result.rowcount) if isinstance(result, CursorResult) else 0

    def for_ticket(self, ticket_id: int) -> Sequence[SuggestionSession]:
        return self.session.scalars(
            select(SuggestionSession)
            .where(SuggestionSession.ticket_id == ticket_id)
            .options(selectinload(SuggestionSession.queries), selectinload(SuggestionSession.articles))
            .order_by(SuggestionSession.created_at, SuggestionSession.id)
        ).all()

    # --- reports -------------------------------------------------------------------------------

    @staticmethod
    def _window(
        since: datetime | None, until: datetime | None, channel: Channel | None
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if since is not None:
            conditions.append(SuggestionSession.created_at >= since)
        if until is not None:
            conditions.append(SuggestionSession.created_at < until)
        if channel is not None:
            conditions.append(SuggestionSession.channel == channel)
        return conditions

    def outcome_counts(
        self, since: datetime | None, until: datetime | None, channel: Channel | None
    ) -> Sequence[tuple[bool | None, SessionOutcome, bool, bool, int]]:
        """(holdout, outcome, abstained, said_solved, count) groups; holdout is None for the sessions
        that were never randomised into an arm (help-center searches)."""
        said_solved = SuggestionSession.confirmed_at.is_not(None)
        randomised = SuggestionSession.source != SessionSource.HELP_CENTER
        stmt = select(
            SuggestionSession.holdout,
            randomised,
            SuggestionSession.outcome,
            SuggestionSession.abstained,
            said_solved,
            func.count(),
        ).group_by(
            SuggestionSession.holdout,
            randomised,
            SuggestionSession.outcome,
            SuggestionSession.abstained,
            said_solved,
        )
        rows = self.session.execute(stmt.where(*self._window(since, until, channel))).all()
        return [
            (bool(h) if r else None, SessionOutcome(o), bool(a), bool(s), int(n)) for h, r, o, a, s, n in rows
        ]

    def session_days(
        self, since: datetime | None, until: datetime | None, channel: Channel | None
    ) -> Sequence[tuple[datetime, SessionOutcome]]:
        """(created_at, outcome) of every session in the window, for the rate over time: two narrow
        columns, bucketed by day in Python so SQLite and PostgreSQL agree on the day (UTC)."""
        stmt = select(SuggestionSession.created_at, SuggestionSession.outcome).where(
            *self._window(since, until, channel)
        )
        return [(created, SessionOutcome(outcome)) for created, outcome in self.session.execute(stmt).all()]

    def gap_queries(
        self, since: datetime | None, until: datetime | None, *, limit: int
    ) -> Sequence[tuple[str, bool, bool, str]]:
        """(text, abstained, not_helpful, asker) of the newest queries search could not answer well;
        the asker is the visitor id, or the session's id when the visitor is unknown, so one person's
        repeated searches can be counted once."""
        not_helpful = (
            select(SuggestedArticle.id)
            .where(
                SuggestedArticle.query_id == SuggestionQuery.id,
                SuggestedArticle.feedback == ArticleFeedback.NOT_HELPFUL,
            )
            .exists()
        )
        stmt = (
            select(
                SuggestionQuery.text,
                SuggestionQuery.abstained,
                not_helpful,
                func.coalesce(SuggestionSession.visitor_id, SuggestionSession.public_id),
            )
            .join(SuggestionSession, SuggestionSession.id == SuggestionQuery.session_id)
            .where(or_(SuggestionQuery.abstained.is_(True), not_helpful))
            .order_by(SuggestionQuery.id.desc())
            .limit(limit)
        )
        if since is not None:
            stmt = stmt.where(SuggestionQuery.created_at >= since)
        if until is not None:
            stmt = stmt.where(SuggestionQuery.created_at < until)
        return [(str(t), bool(a), bool(n), str(w)) for t, a, n, w in self.session.execute(stmt).all()]

    def article_rows(
        self, since: datetime | None, until: datetime | None
    ) -> Sequence[tuple[int, int, int, int, int, int, int]]:
        """Per article: (article_id, newest row id, shown, views, solved, not_helpful, tickets after
        viewing)."""
        viewed = SuggestedArticle.viewed_at.is_not(None)
        stmt = (
            select(
                SuggestedArticle.article_id,
                func.max(SuggestedArticle.id),
                func.count(),
                func.count(SuggestedArticle.viewed_at),
                func.count().filter(SuggestedArticle.feedback == ArticleFeedback.SOLVED),
                func.count().filter(SuggestedArticle.feedback == ArticleFeedback.NOT_HELPFUL),
                func.count().filter(viewed, SuggestionSession.outcome == SessionOutcome.ESCALATED),
            )
            .join(SuggestionSession, SuggestionSession.id == SuggestedArticle.session_id)
            .where(SuggestedArticle.displayed.is_(True))
            .group_by(SuggestedArticle.article_id)
        )
        rows = self.session.execute(stmt.where(*self._window(since, until, None))).all()
        return [tuple(int(v) for v in row) for row in rows]  # type: ignore[misc]

    def solved_phrasings(self, since: datetime | None, until: datetime | None) -> Sequence[tuple[int, str]]:
        """(article_id, what the customer had typed when it was suggested) for every shown article the
        customer said solved their problem, newest first."""
        stmt = (
            select(SuggestedArticle.article_id, SuggestionQuery.text)
            .join(SuggestionQuery, SuggestionQuery.id == SuggestedArticle.query_id)
            .join(SuggestionSession, SuggestionSession.id == SuggestedArticle.session_id)
            .where(SuggestedArticle.displayed.is_(True), SuggestedArticle.feedback == ArticleFeedback.SOLVED)
            .order_by(SuggestedArticle.feedback_at.desc(), SuggestedArticle.id.desc())
        )
        rows = self.session.execute(stmt.where(*self._window(since, until, None))).all()
        return [(int(a), str(t)) for a, t in rows]

    def titles(self, row_ids: Sequence[int]) -> dict[int, str]:
        if not row_ids:
            return {}
        rows = self.session.execute(
            select(SuggestedArticle.article_id, SuggestedArticle.title).where(
                SuggestedArticle.id.in_(row_ids)
            )
        ).all()
        return {int(a): str(t) for a, t in rows}
