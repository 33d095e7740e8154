"""Tables of the deflection domain: suggestion sessions, the queries typed, the articles suggested.

Article ids are plain indexed integers, not foreign keys: deflection history must survive an
article's deletion (the title shown is kept on the row), and the knowledge tables live on another
migration branch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relaydesk.db import Base, IdMixin, enum_column
from relaydesk.deflection.enums import ArticleFeedback, SessionOutcome, SessionSource
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import Channel

__all__ = [
    "ArticleFeedback",
    "SessionOutcome",
    "SessionSource",
    "SuggestedArticle",
    "SuggestionQuery",
    "SuggestionSession",
]


class SuggestionSession(IdMixin, Base):
    __tablename__ = "deflection_sessions"
    __table_args__ = (
        Index("ix_deflection_sessions_outcome_created_at", "outcome", "created_at"),
        Index("ix_deflection_sessions_created_at", "created_at"),
    )

    # What public callers hold: random and unguessable, never the row id.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    source: Mapped[SessionSource] = mapped_column(enum_column(SessionSource))
    locale: Mapped[str | None] = mapped_column(String(16))
    # The web-chat visitor's public id (or in-app user id): matches a customer identity once they write.
    visitor_id: Mapped[str | None] = mapped_column(String(200), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    # True while every query of the session had search abstain (nothing relevant enough to show).
    abstained: Mapped[bool] = mapped_column(Boolean, default=True)
    outcome: Mapped[SessionOutcome] = mapped_column(
        enum_column(SessionOutcome), default=SessionOutcome.PENDING
    )
    # Kept when a later ticket overrides a "solved" click, so reports can show how often that happens.
    confirmed_at: Mapped[datetime | None]
    outcome_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    queries: Mapped[list[SuggestionQuery]] = relationship(
        back_populates="session", order_by="SuggestionQuery.id", cascade="all, delete-orphan"
    )
    articles: Mapped[list[SuggestedArticle]] = relationship(
        back_populates="session", order_by="SuggestedArticle.id", cascade="all, delete-orphan"
    )


class SuggestionQuery(IdMixin, Base):
    """What the customer typed; a refinement of the previous query (still typing) replaces it."""

    __tablename__ = "deflection_queries"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("deflection_sessions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(1000))
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    top_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    session: Mapped[SuggestionSession] = relationship(back_populates="queries")


class SuggestedArticle(IdMixin, Base):
    """One article suggested in a session (once per session), with what the customer did with it."""

    __tablename__ = "deflection_articles"
    __table_args__ = (UniqueConstraint("session_id", "article_id"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("deflection_sessions.id", ondelete="CASCADE"))
    query_id: Mapped[int | None] = mapped_column(ForeignKey("deflection_queries.id", ondelete="SET NULL"))
    article_id: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(1000))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    # False in a holdout session: search ran (so holdout and treated can be compared on the same
    # footing) but the customer was shown nothing.
    displayed: Mapped[bool] = mapped_column(Boolean, default=True)
    viewed_at: Mapped[datetime | None]
    feedback: Mapped[ArticleFeedback | None] = mapped_column(enum_column(ArticleFeedback))
    feedback_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[SuggestionSession] = relationship(back_populates="articles")
