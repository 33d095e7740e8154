"""The public help center (/help/{locale}): published public articles by category, their pages, and a
search that records a suggestion session.

Deflection owns these pages because each search is a deflection session (the help center exists to
solve problems before they become tickets); the articles, their Markdown and their search come from
``knowledge.service``. Internal, draft and other-locale articles answer 404 as if they did not exist.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.channels.chat.branding import help_center_brand
from relaydesk.deflection import service
from relaydesk.deflection.enums import SessionSource
from relaydesk.deflection.limits import public_guard
from relaydesk.kit.errors import NotFoundError, RateLimitedError, RelaydeskError
from relaydesk.knowledge import service as knowledge
from relaydesk.tickets.enums import Channel
from relaydesk.web.deps import SessionDep
from relaydesk.web.i18n import DEFAULT_LOCALE, i18n_context, supported_locales
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from relaydesk.knowledge.models import Article

__all__ = ["article_locale", "help_context", "in_locale", "related_articles", "router"]

router = APIRouter(include_in_schema=False)


_VISITOR_COOKIE = "rd_help_visitor"
_VISITOR_ID = re.compile(r"^hc-[A-Za-z0-9_-]{16,40}$")
_RELATED = 3


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"deflection/{name}", context, status_code=status_code)


def help_context(session: Session, locale: str) -> dict[str, Any]:
    """What every help-center page's layout needs: the brand of the help center's site, the interface
    text in the locale's language (English when it has no catalogue), the locale itself."""
    return {"agent": None, "csrf_token": "", "locale": locale, "brand": help_center_brand(session),
            "search_locale": article_locale(session, locale), **i18n_context(locale)}  # fmt: skip


def article_locale(session: Session, locale: str) -> str:
    """The locale whose articles the help center in ``locale`` shows: its own, or English when the
    interface speaks the locale's language but no article was written in it yet."""
    if locale == DEFAULT_LOCALE or locale not in supported_locales():
        return locale
    return locale if knowledge.help_center_articles(session, locale, limit=1) else DEFAULT_LOCALE


def in_locale(url: str, locale: str) -> str:
    """An article's help-center URL under the locale the customer browses in (``/help/es/articles/…``
    for an English article shown in the Spanish help center)."""
    prefix, _, rest = url.partition("/articles/")
    return f"/help/{locale}/articles/{rest}" if prefix.startswith("/help/") and rest else url


def related_articles(session: Session, article: Article, limit: int = _RELATED) -> list[Article]:
    """Other published articles of the same category and locale (what to read next)."""
    if not article.category:
        return []
    same = [
        a for a in knowledge.help_center_articles(session, article.locale) if a.category == article.category
    ]
    return sorted((a for a in same if a.id != article.id), key=lambda a: a.title.casefold())[:limit]


def _visitor_id(request: Request) -> tuple[str, bool]:
    """The help-center visitor's id (a random cookie, no account), and whether it is new."""
    known = request.cookies.get(_VISITOR_COOKIE, "")
    if _VISITOR_ID.match(known):
        return known, False
    return f"hc-{secrets.token_urlsafe(18)}", True


def _with_visitor(response: Response, visitor_id: str, new: bool) -> Response:
    if new:
        # A year, this site only, never sent cross-site: it only ties one person's searches together.
        response.set_cookie(
            _VISITOR_COOKIE, visitor_id, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
    return response


@router.get("/help", response_class=HTMLResponse)
def help_root() -> Response:
    return RedirectResponse("/help/en", status_code=303)


@router.get("/help/{locale}", response_class=HTMLResponse)
def help_home(locale: str, request: Request, session: SessionDep) -> Response:
    locale = locale.lower()[:16]
    query = (request.query_params.get("q") or "").strip()[: knowledge.MAX_QUERY_CHARS]
    within = request.query_params.get("s") or None  # the visit's session: a refined search continues it
    visitor_id, new_visitor = _visitor_id(request)
    shown_locale = article_locale(session, locale)
    result, refused = None, ""
    if query:
        # A search writes a deflection session: held to the public routes' per-client limit, so a
        # crawler or a script cannot fill the reports (and the database) one GET at a time.
        try:
            public_guard(request)
            result = _help_center_search(session, query, shown_locale, within, visitor_id)
        except RateLimitedError as exc:
            refused = exc.message
    articles = [] if query else knowledge.help_center_articles(session, shown_locale)
    context = help_context(session, locale) | {
        "query": query, "result": result, "refused": refused, "sections": _by_category(articles),
        "fallback": shown_locale != locale, "url": lambda *a: in_locale(knowledge.article_url(*a), locale),
        "in_locale": in_locale,
    }  # fmt: skip
    response = _page(request, "help_home.html", context, status_code=429 if refused else 200)
    return _with_visitor(response, visitor_id, new_visitor)


def _help_center_search(
    session: Session, query: str, locale: str, within: str | None, visitor_id: str
) -> service.SuggestResponse:
    """A help-center search, recorded as a deflection session (never in the holdout: the customer asked
    for results), so its articles can be answered "solved" and a search that finds nothing reaches the
    gap report; a search refined on the results page (``within``: its session) is one more query of the
    same session, as typing is, and so is a reload or the same search again by the same visitor within
    half an hour (``service.open_help_center_visit``)."""
    if within is None:
        within = service.open_help_center_visit(session, visitor_id)
    request = service.SuggestRequest(
        query=query,
        channel=Channel.WEB_FORM,
        source=SessionSource.HELP_CENTER,
        locale=locale,
        session_id=within if within and len(within) <= 40 else None,
        visitor_id=visitor_id,
        limit=5,
    )
    try:
        return service.suggest(session, request)
    except NotFoundError:  # an unknown session id in the link: a new session
        return service.suggest(session, replace(request, session_id=None))


def _by_category(articles: Sequence[Article]) -> list[tuple[str, list[Article]]]:
    """The help center's sections: articles under their category, categories and titles A to Z, the
    uncategorised last (the template names that section in the page's language)."""
    sections: dict[str, list[Article]] = {}
    for article in articles:
        sections.setdefault(article.category or "", []).append(article)
    order = sorted(sections, key=lambda name: (name == "", name.casefold()))
    return [(name, sorted(sections[name], key=lambda a: a.title.casefold())) for name in order]


@router.get("/help/{locale}/articles/{article_ref}", response_class=HTMLResponse)
def help_article(locale: str, article_ref: str, request: Request, session: SessionDep) -> Response:
    locale = locale.lower()[:16]
    number = article_ref.split("-", 1)[0]
    article = knowledge.public_article(session, int(number), locale) if number.isdigit() else None
    fallback = False
    if article is None and number.isdigit() and article_locale(session, locale) != locale:
        # The Spanish help center before any Spanish article: the English one, with a note.
        article = knowledge.public_article(session, int(number), DEFAULT_LOCALE)
        fallback = article is not None
    if article is None:
        return _page(request, "help_missing.html", help_context(session, locale), status_code=404)
    canonical = knowledge.article_ref(article)
    asked_in = request.query_params.get("s") or ""
    if article_ref != canonical:
        keep = f"?s={quote(asked_in)}" if asked_in else ""
        return RedirectResponse(f"/help/{locale}/articles/{canonical}{keep}", status_code=301)
    context = help_context(session, locale) | {
        "article": article, "html": knowledge.article_html(article), "fallback": fallback,
        "asked_in": _opened_from_search(session, asked_in, article),
        "url": knowledge.article_url(article.id, article.title, article.locale),
        "related": [(in_locale(knowledge.article_url(a.id, a.title, a.locale), locale), a.title)
                    for a in related_articles(session, article)],
    }  # fmt: skip
    return _page(request, "help_article.html", context)


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
