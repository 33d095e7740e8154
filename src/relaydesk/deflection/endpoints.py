"""HTTP routes of this domain (mounted in relaydesk.app).

Public (no sign-in, rate-limited per client, size-limited): suggestions as the customer types and
their feedback. Agents: what a ticket's customer already tried. Leads and above: the reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from relaydesk.agents.dependencies import CurrentPrincipal, RequireLead
from relaydesk.deflection import help_center, pages, reports, service
from relaydesk.deflection.enums import SessionSource
from relaydesk.deflection.limits import preflight, public_guard
from relaydesk.deflection.models import SuggestionSession
from relaydesk.deflection.schemas import (
    ArticleReportRow,
    ArticleShownOut,
    DeflectionReport,
    FeedbackIn,
    FeedbackOut,
    GapReport,
    PublicSuggestionsIn,
    QueryOut,
    SessionOut,
    SuggestionOut,
    SuggestionsOut,
    TicketDeflectionOut,
)
from relaydesk.kit.errors import ValidationFailedError
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel
from relaydesk.web.cors import CorsRoute
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter()
# The help center first: its /help/{locale} has answered /help/contact since it lived in knowledge.
router.include_router(help_center.router)
router.include_router(pages.router)
# The widget calls these from the customer's own site: every answer carries CORS headers. Any
# origin may read them: no cookies travel on them and the data is public help-center content.
public = APIRouter(route_class=CorsRoute, tags=["deflection"])

PublicId = Annotated[str, Path(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
PublicGuard = Depends(public_guard)


@public.post(
    "/api/v1/public/suggestions",
    response_model=SuggestionsOut,
    tags=["deflection"],
    dependencies=[PublicGuard],
)
def public_suggestions(data: PublicSuggestionsIn, session: SessionDep) -> SuggestionsOut:
    """Articles for what the customer is typing; reuse the returned session_id while they keep typing."""
    result = service.suggest(
        session,
        service.SuggestRequest(
            query=data.query,
            channel=data.channel,
            locale=data.locale,
            session_id=data.session_id,
            visitor_id=data.visitor_id,
            source=SessionSource(data.source),
            # data.customer_id is deliberately ignored: a public caller could claim anyone.
        ),
    )
    return SuggestionsOut(
        session_id=result.session.public_id,
        holdout=result.holdout,
        abstained=result.abstained,
        suggestions=[SuggestionOut(**vars(s)) for s in result.suggestions],
    )


@public.post(
    "/api/v1/public/suggestions/{session_id}/feedback",
    response_model=FeedbackOut,
    tags=["deflection"],
    dependencies=[PublicGuard],
)
def public_feedback(session_id: PublicId, data: FeedbackIn, session: SessionDep) -> FeedbackOut:
    """ "solved", "not_helpful", or "viewed" (the customer opened the article)."""
    row = service.record_feedback(session, session_id, data.article_id, data.outcome)
    return FeedbackOut(session_id=row.public_id, outcome=row.outcome)


public.add_api_route("/api/v1/public/suggestions", preflight, methods=["OPTIONS"], include_in_schema=False)
public.add_api_route(
    "/api/v1/public/suggestions/{session_id}/feedback",
    preflight,
    methods=["OPTIONS"],
    include_in_schema=False,
)
router.include_router(public)


def session_out(row: SuggestionSession) -> SessionOut:
    return SessionOut(
        session_id=row.public_id,
        channel=row.channel,
        source=row.source.value,
        holdout=row.holdout,
        abstained=row.abstained,
        outcome=row.outcome,
        confirmed_at=row.confirmed_at,
        created_at=row.created_at,
        queries=[
            QueryOut(text=q.text, abstained=q.abstained, top_score=q.top_score, created_at=q.created_at)
            for q in row.queries
        ],
        articles=[
            ArticleShownOut(
                article_id=a.article_id,
                title=a.title,
                url=a.url,
                score=a.score,
                displayed=a.displayed,
                viewed_at=a.viewed_at,
                feedback=a.feedback,
                feedback_at=a.feedback_at,
            )
            for a in row.articles
        ],
    )


@router.get("/api/v1/tickets/{ticket_id}/deflection", response_model=TicketDeflectionOut, tags=["deflection"])
def ticket_deflection(
    ticket_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> TicketDeflectionOut:
    """What the customer tried before this ticket: queries, articles shown, their feedback."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    return TicketDeflectionOut(
        ticket_id=ticket.id,
        sessions=[session_out(row) for row in service.sessions_for_ticket(session, ticket.id)],
    )


def _period(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailedError(
                f"'{name}' needs a time zone, e.g. 2026-11-01T00:00:00Z.",
                details=[{"field": name, "message": "naive datetime"}],
            )
    if since is not None and until is not None and since >= until:
        raise ValidationFailedError(
            "'since' must be before 'until'.", details=[{"field": "since", "message": "after until"}]
        )


@router.get("/api/v1/reports/deflection", response_model=DeflectionReport, tags=["reports"])
def deflection_report(
    session: SessionDep,
    principal: RequireLead,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: Channel | None = None,
) -> DeflectionReport:
    _period(since, until)
    return reports.deflection_report(session, since=since, until=until, channel=channel)


@router.get("/api/v1/reports/kb-gaps", response_model=GapReport, tags=["reports"])
def kb_gaps(
    session: SessionDep,
    principal: RequireLead,
    since: datetime | None = None,
    until: datetime | None = None,
    distance: Annotated[float | None, Query(gt=0, lt=2)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> GapReport:
    _period(since, until)
    return reports.gap_report(session, since=since, until=until, distance=distance, max_clusters=limit)


@router.get("/api/v1/reports/articles", response_model=list[ArticleReportRow], tags=["reports"])
def article_report(
    session: SessionDep, principal: RequireLead, since: datetime | None = None, until: datetime | None = None
) -> list[ArticleReportRow]:
    _period(since, until)
    return reports.article_report(session, since=since, until=until)
