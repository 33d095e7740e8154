"""Server-rendered pages: what the customer tried (on the agent's ticket page), the "did this solve
it?" page linked from email acknowledgements, and the agents' deflection report. The contact form is
a channel adapter: ``channels/web_form``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.auth.roles import Role
from relaydesk.deflection import help_center, reports, service
from relaydesk.deflection.enums import SessionSource
from relaydesk.deflection.schemas import PUBLIC_CHANNELS, DeflectionPoint, DeflectionReport
from relaydesk.kit.errors import NotFoundError, RelaydeskError
from relaydesk.kit.ids import MAX_ID, RecordId
from relaydesk.knowledge import service as knowledge
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.panels import ticket_panel
from relaydesk.web.deps import SessionDep
from relaydesk.web.i18n import DEFAULT_LOCALE, translations_for
from relaydesk.web.public import public_guard
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from relaydesk.tickets.models import Ticket

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


_SOURCES = {
    SessionSource.PUBLIC_API: "while typing (chat, in-app)",
    SessionSource.CONTACT_FORM: "in the contact form",
    SessionSource.EMAIL_ACK: "in the email acknowledgement",
    SessionSource.BOT: "in the bot's first answer",
    SessionSource.HELP_CENTER: "in the help center's search",
}
assert set(_SOURCES) == set(SessionSource), "every session source needs its label on the ticket page"


@ticket_panel
def tried_before(session: Session, ticket: Ticket) -> tuple[str, dict[str, Any]] | None:
    """The agent's ticket page: what the customer searched and which articles they saw, with their
    answers, so nobody suggests the same article again."""
    rows = service.sessions_for_ticket(session, ticket.id)
    if not rows:
        return None
    return "deflection/_ticket_panel.html", {"sessions": rows, "sources": _SOURCES}


def _gone(session: Session, locale: str) -> Response:
    text = translations_for(locale).gettext
    return HTMLResponse(
        f"<h1>{text('This link is no longer valid.')}</h1>"
        f'<p><a href="/help/{quote(locale)}">{text("Search the help center")}</a></p>',
        status_code=404,
    )


@router.get("/help/feedback/{public_id}", response_class=HTMLResponse)
def feedback_page(
    public_id: str,
    request: Request,
    session: SessionDep,
    article_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """Linked from the email acknowledgement: asks, then records with a POST (links get prefetched)."""
    try:
        row = service.get_session(session, public_id)
    except NotFoundError:
        return _gone(session, DEFAULT_LOCALE)
    article = next((a for a in row.articles if a.article_id == article_id and a.displayed), None)
    locale = (row.locale or DEFAULT_LOCALE).lower()
    if article is None:
        return _gone(session, locale)
    return templates.TemplateResponse(
        request,
        "deflection/feedback.html",
        help_center.help_context(session, locale)
        | {"public_id": public_id, "article": article, "done": None},
    )


@router.post("/help/feedback/{public_id}", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def feedback_submit(
    public_id: str,
    request: Request,
    session: SessionDep,
    article_id: Annotated[RecordId, Form()],
    outcome: Annotated[str, Form(pattern="^(solved|not_helpful)$")],
    locale: Annotated[str, Form(max_length=16, pattern=r"^([A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*)?$")] = "",
) -> Response:
    """Records the answer, then a thank-you page that is no dead end: search again, related articles,
    contact (with the question and the session, so a ticket it opens is linked to this search)."""
    try:
        row = service.record_feedback(session, public_id, article_id, outcome)
    except RelaydeskError:
        return _gone(session, (locale or DEFAULT_LOCALE).lower())
    article = next(a for a in row.articles if a.article_id == article_id)
    # The page's language: the help center's the customer answered from, else the session's.
    locale = (locale or row.locale or DEFAULT_LOCALE).lower()
    question = row.queries[-1].text if row.queries else ""
    read = knowledge.public_article(session, article_id, row.locale or DEFAULT_LOCALE)
    related = help_center.related_articles(session, read) if read is not None else []
    return templates.TemplateResponse(
        request,
        "deflection/feedback.html",
        help_center.help_context(session, locale)
        | {
            "public_id": public_id,
            "article": article,
            "done": outcome,
            "has_ticket": row.ticket_id is not None,
            "contact_query": urlencode(
                {"q": question, "s": public_id} if question else {"s": public_id}, quote_via=quote
            ),
            "related": [
                (help_center.in_locale(knowledge.article_url(a.id, a.title, a.locale), locale), a.title)
                for a in related
            ],
        },
    )


@dataclass(frozen=True)
class ReportFilters:
    """The report page's filters as typed in its form: dates (UTC days, ``until`` included) and a
    channel; ``error`` says what to fix when one cannot be read."""

    since: date | None = None
    until: date | None = None
    channel: Channel | None = None
    error: str = ""

    @property
    def window(self) -> tuple[datetime | None, datetime | None]:
        since = datetime.combine(self.since, time.min, UTC) if self.since else None
        until = datetime.combine(self.until + timedelta(days=1), time.min, UTC) if self.until else None
        return since, until

    @property
    def query(self) -> str:
        """The filters as a query string, for the CSV link."""
        return urlencode(
            {k: v for k, v in (("since", self.since), ("until", self.until), ("channel", self.channel)) if v}
        )


def _filters(request: Request) -> ReportFilters:
    params = request.query_params
    values: dict[str, Any] = {}
    for name in ("since", "until"):
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError:
                return ReportFilters(error=f"'{name}' must be a date such as 2026-11-01, not {raw[:40]!r}.")
    raw_channel = (params.get("channel") or "").strip()
    if raw_channel:
        if raw_channel not in PUBLIC_CHANNELS:
            names = ", ".join(sorted(PUBLIC_CHANNELS))
            return ReportFilters(error=f"'channel' must be one of {names}, not {raw_channel[:40]!r}.")
        values["channel"] = Channel(raw_channel)
    filters = ReportFilters(**values)
    if filters.since and filters.until and filters.since > filters.until:
        return ReportFilters(error="'since' must not be after 'until'.")
    return filters


def _report(session: Session, filters: ReportFilters) -> DeflectionReport:
    since, until = filters.window
    return reports.deflection_report(session, since=since, until=until, channel=filters.channel)


# The chart's drawing area in SVG units; the template adds the axes' labels around it.
_CHART_W, _CHART_H = 600, 160


def rate_chart(series: list[DeflectionPoint]) -> dict[str, Any]:
    """Coordinates of the rate over time, drawn server-side as inline SVG (the page runs no chart
    script): the settled rate as a solid line, the provisional rate (pending counted as deflected)
    dashed, one point per day."""
    if not series:
        return {"points": [], "settled": "", "provisional": "", "width": _CHART_W, "height": _CHART_H}
    step = _CHART_W / max(len(series) - 1, 1)

    def y(rate: float) -> float:
        return round(_CHART_H - rate * _CHART_H, 1)

    points = []
    for i, p in enumerate(series):
        x = round(i * step if len(series) > 1 else _CHART_W / 2, 1)
        settled, provisional = p.deflection_rate, p.provisional_deflection_rate
        points.append({"x": x, "day": p.day, "point": p,
                       "y": None if settled is None else y(settled),
                       "py": None if provisional is None else y(provisional)})  # fmt: skip
    return {
        "points": points,
        "settled": " ".join(f"{q['x']},{q['y']}" for q in points if q["y"] is not None),
        "provisional": " ".join(f"{q['x']},{q['py']}" for q in points if q["py"] is not None),
        "width": _CHART_W,
        "height": _CHART_H,
    }


def _lead_only(agent: object, path: str) -> Response | None:
    if agent is None:
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    if not Role(agent.role).at_least(Role.LEAD):  # type: ignore[attr-defined]
        return HTMLResponse("<h1>Reports need the lead role or above.</h1>", status_code=403)
    return None


@router.get("/reports/deflection", response_class=HTMLResponse)
def report_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    refused = _lead_only(agent, "/reports/deflection")
    if refused is not None:
        return refused
    filters = _filters(request)
    report = _report(session, filters if not filters.error else ReportFilters())
    data = getattr(request.state, "session_data", None)
    context = {
        "agent": agent,
        "csrf_token": data.csrf_token if data else "",
        "report": report,
        "filters": filters,
        "channels": sorted(PUBLIC_CHANNELS),
        "chart": rate_chart(report.series),
        "articles": reports.article_report(session, since=report.since, until=report.until)[:50],
    }
    return templates.TemplateResponse(
        request, "deflection/report.html", context, status_code=422 if filters.error else 200
    )


@router.get("/reports/deflection.csv")
def report_csv(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    """The report with the page's filters, as CSV (rows, then the "all" row per day)."""
    refused = _lead_only(agent, "/reports/deflection")
    if refused is not None:
        return refused
    filters = _filters(request)
    if filters.error:
        return Response(filters.error + "\n", status_code=422, media_type="text/plain")
    name = "deflection" + "".join(f"-{v}" for v in (filters.since, filters.until, filters.channel) if v)
    return Response(
        reports.report_csv(_report(session, filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/reports/deflection/gaps", response_class=HTMLResponse)
def report_gaps(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None or not Role(agent.role).at_least(Role.LEAD):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    since, until = _filters(request).window
    gaps = reports.gap_report(session, since=since, until=until, max_clusters=20)
    return templates.TemplateResponse(request, "deflection/_gaps.html", {"gaps": gaps})
