"""The public help center (/help/{locale}): published public articles by category, their pages, and a
search that records a suggestion session.

Deflection owns these pages because each search is a deflection session (the help center exists to
solve problems before they become tickets); the articles, their Markdown and their search come from
``knowledge.service``. Internal, draft and other-locale articles answer 404 as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.deflection import service
from relaydesk.deflection.enums import SessionSource
from relaydesk.deflection.limits import public_guard
from relaydesk.kit.errors import NotFoundError, RateLimitedError, RelaydeskError
from relaydesk.knowledge import service as knowledge
from relaydesk.tickets.enums import Channel
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from relaydesk.knowledge.models import Article

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"deflection/{name}", context, status_code=status_code)


@router.get("/help", response_class=HTMLResponse)
def help_root() -> Response:
    return RedirectResponse("/help/en", status_code=303)


@router.get("/help/{locale}", response_class=HTMLResponse)
def help_home(locale: str, request: Request, session: SessionDep) -> Response:
    locale = locale.lower()[:16]
    query = (request.query_params.get("q") or "").strip()[: knowledge.MAX_QUERY_CHARS]
    within = request.query_params.get("s") or None  # the visit's session: a refined search continues it
    result, refused = None, ""
    if query:
        # A search writes a deflection session: held to the public routes' per-client limit, so a
        # crawler or a script cannot fill the reports (and the database) one GET at a time.
        try:
            public_guard(request)
            result = _help_center_search(session, query, locale, within)
        except RateLimitedError as exc:
            refused = exc.message
    articles = [] if query else knowledge.help_center_articles(session, locale)
    return _page(
        request,
        "help_home.html",
        {"agent": None, "csrf_token": "", "locale": locale, "query": query, "result": result,
         "refused": refused, "sections": _by_category(articles), "url": knowledge.article_url},
        status_code=429 if refused else 200,
    )  # fmt: skip


def _help_center_search(
    session: Session, query: str, locale: str, within: str | None
) -> service.SuggestResponse:
    """A help-center search, recorded as a deflection session (never in the holdout: the customer asked
    for results), so its articles can be answered "solved" and a search that finds nothing reaches the
    gap report; a search refined on the results page (``within``: its session) is one more query of the
    same session, as typing is."""
    request = service.SuggestRequest(
        query=query,
        channel=Channel.WEB_FORM,
        source=SessionSource.HELP_CENTER,
        locale=locale,
        session_id=within if within and len(within) <= 40 else None,
        limit=5,
    )
    try:
        return service.suggest(session, request)
    except NotFoundError:  # an unknown session id in the link: a new session
        return service.suggest(session, replace(request, session_id=None))


def _by_category(articles: Sequence[Article]) -> list[tuple[str, list[Article]]]:
    """The help center's sections: articles under their category, categories and titles A to Z, the
    uncategorised last under "More help"."""
    sections: dict[str, list[Article]] = {}
    for article in articles:
        sections.setdefault(article.category or "", []).append(article)
    order = sorted(sections, key=lambda name: (name == "", name.casefold()))
    return [(name or "More help", sorted(sections[name], key=lambda a: a.title.casefold())) for name in order]


@router.get("/help/{locale}/articles/{article_ref}", response_class=HTMLResponse)
def help_article(locale: str, article_ref: str, request: Request, session: SessionDep) -> Response:
    number = article_ref.split("-", 1)[0]
    article = knowledge.public_article(session, int(number), locale.lower()) if number.isdigit() else None
    if article is None:
        return _page(
            request,
            "help_missing.html",
            {"agent": None, "csrf_token": "", "locale": locale.lower()[:16]},
            status_code=404,
        )
    canonical = knowledge.article_ref(article)
    asked_in = request.query_params.get("s") or ""
    if article_ref != canonical:
        keep = f"?s={quote(asked_in)}" if asked_in else ""
        return RedirectResponse(f"/help/{article.locale}/articles/{canonical}{keep}", status_code=301)
    return _page(
        request,
        "help_article.html",
        {"agent": None, "csrf_token": "", "locale": article.locale, "article": article,
         "html": knowledge.article_html(article), "asked_in": _opened_from_search(session, asked_in, article),
         "url": knowledge.article_url(article.id, article.title, article.locale)},
    )  # fmt: skip


def _opened_from_search(session: Session, public_id: str, article: Article) -> str | None:
    """The help-center search session this article was opened from (``?s=``), recorded as "viewed";
    the page then asks whether it solved the problem. None for a plain visit or a stale link."""
    if not public_id or len(public_id) > 40:
        return None
    try:
        service.record_feedback(session, public_id, article.id, "viewed")
    except RelaydeskError:
        return None
    return public_id
