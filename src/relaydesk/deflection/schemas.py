"""API shapes of the deflection domain (public suggestions, feedback, the agent view, reports)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from relaydesk.deflection.enums import ArticleFeedback, SessionOutcome
from relaydesk.kit.ids import RecordId
from relaydesk.knowledge.schemas import SuggestionOut
from relaydesk.tickets.enums import Channel

__all__ = [
    "ArticleReportRow",
    "ArticleShownOut",
    "DeflectionCounts",
    "DeflectionPoint",
    "DeflectionReport",
    "FeedbackIn",
    "FeedbackOut",
    "GapCluster",
    "GapReport",
    "PublicSuggestionsIn",
    "QueryOut",
    "SessionOut",
    "SuggestionOut",
    "SuggestionsOut",
    "TicketDeflectionOut",
]

MAX_QUERY_CHARS = 500
# Channels a customer types into before contacting support; "internal" is not one.
PUBLIC_CHANNELS = frozenset(Channel) - {Channel.INTERNAL}


class PublicSuggestionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    channel: Channel
    locale: str | None = Field(default=None, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
    session_id: str | None = Field(default=None, min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    visitor_id: str | None = Field(default=None, min_length=1, max_length=200)
    # Accepted for the documented shape but never trusted from a public caller: the endpoint ignores
    # it. Internal callers (bot, email acknowledgement, contact form) pass the customer to the service.
    customer_id: RecordId | None = None
    # "help_center": the help center's own search box (the customer asked for results, so never in the
    # holdout and counted in the report's help-center row); anything else is the widget's typing.
    source: Literal["public_api", "help_center"] = "public_api"

    @field_validator("query")
    @classmethod
    def _has_text(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the query is empty; send what the customer typed")
        return value

    @field_validator("locale")
    @classmethod
    def _lower_locale(cls, value: str | None) -> str | None:
        # The knowledge base keys locales as "en" / "pt-br".
        return value.lower().replace("_", "-") if value else None

    @field_validator("channel")
    @classmethod
    def _customer_channel(cls, value: Channel) -> Channel:
        if value not in PUBLIC_CHANNELS:
            raise ValueError(f"'{value}' is not a customer channel")
        return value


class SuggestionsOut(BaseModel):
    session_id: str
    holdout: bool
    abstained: bool
    suggestions: list[SuggestionOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_id: RecordId
    outcome: Literal["solved", "not_helpful", "viewed"]


class FeedbackOut(BaseModel):
    session_id: str
    outcome: SessionOutcome


class QueryOut(BaseModel):
    text: str
    abstained: bool
    top_score: float | None
    created_at: datetime


class ArticleShownOut(BaseModel):
    article_id: int
    title: str
    url: str
    score: float
    displayed: bool
    viewed_at: datetime | None
    feedback: ArticleFeedback | None
    feedback_at: datetime | None


class SessionOut(BaseModel):
    session_id: str
    channel: Channel
    source: str
    holdout: bool
    abstained: bool
    outcome: SessionOutcome
    confirmed_at: datetime | None
    created_at: datetime
    queries: list[QueryOut]
    articles: list[ArticleShownOut]


class TicketDeflectionOut(BaseModel):
    """What the customer already tried before (or while) this ticket was opened."""

    ticket_id: int
    sessions: list[SessionOut]


class DeflectionCounts(BaseModel):
    sessions: int = 0
    # Sessions where search was confident: shown to treated customers, withheld from the holdout.
    with_suggestions: int = 0
    deflected_confirmed: int = 0
    deflected_no_ticket: int = 0
    escalated: int = 0
    pending: int = 0
    # Said "solved", then a ticket followed anyway (counted as escalated).
    confirmed_then_escalated: int = 0
    # deflected_confirmed + deflected_no_ticket + escalated: sessions whose outcome is known.
    settled: int = 0
    # Deflected / settled (pending sessions are left out: their outcome is not known yet).
    deflection_rate: float | None = None
    # (Deflected + pending) / sessions: the rate if every pending session (none has a ticket so far,
    # or it would be escalated) ends without one. An upper bound until the window passes; shown beside
    # the settled rate with its basis (settled and pending counts) while sessions are pending.
    provisional_deflection_rate: float | None = None
    # The same among sessions where search was confident (shown, or withheld in the holdout): a
    # session where nothing was suggested and the customer left says little about suggestions.
    deflection_rate_with_suggestions: float | None = None


class DeflectionPoint(BaseModel):
    """One day of the "all" row (UTC days, by when the session started): the rate over time."""

    day: date
    sessions: int
    settled: int
    deflected: int
    pending: int
    deflection_rate: float | None
    provisional_deflection_rate: float | None


class DeflectionReport(BaseModel):
    """``all`` = ``treated`` + ``holdout`` + ``help_center``, count by count (``reports.check_identities``):
    the randomised arms and the help center's searches, which were never randomised."""

    since: datetime | None
    until: datetime | None
    channel: Channel | None
    window_days: float
    holdout_share: float
    all: DeflectionCounts
    treated: DeflectionCounts
    holdout: DeflectionCounts
    help_center: DeflectionCounts
    # Treated rate minus holdout rate: the deflection the suggestions caused, when both are known.
    uplift: float | None
    # The same among sessions where search was confident: the cleanest estimate of what showing the
    # articles changed.
    uplift_with_suggestions: float | None
    # The "all" row per day, oldest first (days without sessions left out).
    series: list[DeflectionPoint] = []


class GapCluster(BaseModel):
    # Askers and wordings: one visitor (or session) asking the same words again counts once.
    count: int
    abstained: int
    not_helpful: int
    sample_queries: list[str]


class GapReport(BaseModel):
    since: datetime | None
    until: datetime | None
    queries: int  # distinct (asker, wording) pairs among the newest unanswered queries
    clusters: list[GapCluster]


class ArticleReportRow(BaseModel):
    article_id: int
    title: str
    shown: int
    views: int
    solved: int
    not_helpful: int
    tickets_after_viewing: int
    # What customers had typed when it solved their problem, not yet among its questions (newest first,
    # at most five): the other ways they ask it, for an editor to add (``/kb/{id}/questions``).
    new_questions: list[str] = []
