"""Server-rendered pages: the article editor for agents (/kb) and the public help center (/help/{locale}).

The help center shows published public articles only; internal ones answer 404 there as if they did
not exist. Markdown is rendered with markdown-it-py (raw HTML off) and sanitised with nh3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.agents.models import Agent
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import NotFoundError, RateLimitedError, RelaydeskError
from relaydesk.kit.ids import RecordId
from relaydesk.knowledge import service
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.models import Article
from relaydesk.knowledge.repository import ArticleFilters
from relaydesk.knowledge.schemas import MAX_QUESTIONS, ArticleCreate, ArticleUpdate
from relaydesk.knowledge.text import render_markdown, slugify
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200_000)]
Short = Annotated[str, Form(max_length=500)]
QuestionLines = Annotated[str, Form(max_length=100_000)]  # one per line: 200 of 300 characters and spaces


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


def _csrf_ok(request: Request, token: str) -> bool:
    data = getattr(request.state, "session_data", None)
    return data is not None and data.csrf_matches(token)


def _can_edit(agent: Agent) -> bool:
    return Role(agent.role).at_least(Role.LEAD)


def _login(next_path: str) -> Response:
    return RedirectResponse(f"/login?next={next_path}", status_code=303)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"knowledge/{name}", context, status_code=status_code)


def _forbidden(request: Request, agent: Agent) -> Response:
    return _page(
        request,
        "message.html",
        {"agent": agent, "csrf_token": _csrf(request), "title": "Not allowed",
         "message": "Editing articles needs the lead role or above."},
        status_code=403,
    )  # fmt: skip


# -- editor ---------------------------------------------------------------------------------------------


@router.get("/kb", response_class=HTMLResponse)
def article_list(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return _login("/kb")
    params = request.query_params
    status = params.get("status") or None
    text = (params.get("q") or "").strip()[:200] or None
    filters = ArticleFilters(
        status=ArticleStatus(status) if status in set(ArticleStatus) else None,
        locale=(params.get("locale") or None),
        text=text,
    )
    articles = service.list_articles(session, filters, limit=200)
    return _page(
        request,
        "list.html",
        {
            "agent": agent,
            "csrf_token": _csrf(request),
            "articles": articles,
            "can_edit": _can_edit(agent),
            "filters": {"status": status, "q": text or "", "locale": params.get("locale") or ""},
            "statuses": list(ArticleStatus),
        },
    )


def _form_context(
    request: Request, agent: Agent, article: Article | None, form: dict[str, Any], error: str | None = None
) -> dict[str, Any]:
    return {
        "agent": agent,
        "csrf_token": _csrf(request),
        "article": article,
        "form": form,
        "error": error,
        "can_edit": _can_edit(agent),
        "visibilities": list(Visibility),
        "preview": render_markdown(form.get("body", "")),
    }


def _form_of(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "body": article.body,
        "category": article.category or "",
        "tags": ", ".join(article.tags or []),
        "questions": "\n".join(article.questions or []),
        "locale": article.locale,
        "visibility": str(article.visibility),
        "version": article.version,
    }


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


def _question_lines(raw: str) -> list[tuple[int, str]]:
    """The non-blank lines of the questions box, with their line numbers (for the error messages)."""
    return [(number, line) for number, line in enumerate(raw.splitlines(), start=1) if line.strip()]


def _explain(exc: ValidationError, question_lines: Sequence[tuple[int, str]] = ()) -> str:
    def where(loc: tuple[Any, ...]) -> str:
        # ("questions", 3) is the fourth non-blank line of the box; name it as the editor sees it.
        if loc[:1] == ("questions",):
            if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(question_lines):
                return f"Other ways customers ask this, line {question_lines[loc[1]][0]}"
            return "Other ways customers ask this"
        return ".".join(str(p) for p in loc)

    return "; ".join(f"{where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())


@router.post("/kb/preview", response_class=HTMLResponse)
def preview(agent: OptionalSessionAgent, body: Text = "") -> Response:
    """The Markdown preview beside the editor (htmx), rendered exactly as the help center will."""
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return HTMLResponse(render_markdown(body))


@router.get("/kb/new", response_class=HTMLResponse)
def new_article_form(request: Request, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return _login("/kb/new")
    if not _can_edit(agent):
        return _forbidden(request, agent)
    form = {"title": "", "body": "", "category": "", "tags": "", "questions": "", "locale": "en",
            "visibility": "public"}  # fmt: skip
    return _page(request, "edit.html", _form_context(request, agent, None, form))


@router.post("/kb/new", response_class=HTMLResponse)
def create_article(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    title: Short = "",
    body: Text = "",
    category: Short = "",
    tags: Short = "",
    questions: QuestionLines = "",
    locale: Short = "en",
    visibility: Short = "public",
    csrf_token: Short = "",
) -> Response:
    if agent is None:
        return _login("/kb/new")
    if not _can_edit(agent) or not _csrf_ok(request, csrf_token):
        return _forbidden(request, agent)
    form = {"title": title, "body": body, "category": category, "tags": tags, "questions": questions,
            "locale": locale, "visibility": visibility}  # fmt: skip
    question_lines = _question_lines(questions)
    try:
        data = ArticleCreate(
            title=title,
            body=body,
            category=category or None,
            tags=_tags(tags),
            questions=[line for _, line in question_lines],
            locale=locale,
            visibility=Visibility(visibility) if visibility in set(Visibility) else Visibility.PUBLIC,
        )
        article = service.create_article(session, data, service.Editor(agent.id, f"agent:{agent.id}"))
    except ValidationError as exc:
        error = _explain(exc, question_lines)
        return _page(request, "edit.html", _form_context(request, agent, None, form, error), 400)
    except RelaydeskError as exc:
        return _page(request, "edit.html", _form_context(request, agent, None, form, exc.message), 400)
    return RedirectResponse(f"/kb/{article.id}", status_code=303)


@router.get("/kb/{article_id}", response_class=HTMLResponse)
def article_form(
    article_id: RecordId, request: Request, session: SessionDep, agent: OptionalSessionAgent
) -> Response:
    if agent is None:
        return _login(f"/kb/{article_id}")
    article = session.get(Article, article_id)
    if article is None:
        return _page(request, "message.html", {"agent": agent, "csrf_token": _csrf(request),
                     "title": "Not found", "message": f"No article {article_id}."}, 404)  # fmt: skip
    context = _form_context(request, agent, article, _form_of(article))
    context["versions"] = list(reversed(service.list_versions(session, article)))
    return _page(request, "edit.html", context)


@router.post("/kb/{article_id}", response_class=HTMLResponse)
def save_article(
    article_id: RecordId,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    title: Short = "",
    body: Text = "",
    category: Short = "",
    tags: Short = "",
    questions: QuestionLines = "",
    locale: Short = "en",
    visibility: Short = "public",
    version: Annotated[int, Form()] = 0,
    action: Short = "save",
    csrf_token: Short = "",
) -> Response:
    if agent is None:
        return _login(f"/kb/{article_id}")
    if not _can_edit(agent) or not _csrf_ok(request, csrf_token):
        return _forbidden(request, agent)
    article = session.get(Article, article_id)
    if article is None:
        return RedirectResponse("/kb", status_code=303)
    editor = service.Editor(agent.id, f"agent:{agent.id}")
    form = {"title": title, "body": body, "category": category, "tags": tags, "questions": questions,
            "locale": locale, "visibility": visibility, "version": version}  # fmt: skip
    question_lines = _question_lines(questions)
    try:
        if action == "delete":
            service.delete_article(session, article)
            return RedirectResponse("/kb", status_code=303)
        if action in ("save", "publish"):
            service.update_article(
                session,
                article,
                ArticleUpdate(
                    title=title,
                    body=body,
                    category=category or None,
                    tags=_tags(tags),
                    questions=[line for _, line in question_lines],
                    locale=locale,
                    visibility=Visibility(visibility) if visibility in set(Visibility) else None,
                    version=version or None,
                ),
                editor,
            )
        if action == "publish":
            service.publish_article(session, article, editor)
        elif action == "unpublish":
            service.unpublish_article(session, article, editor)
    except ValidationError as exc:
        error = _explain(exc, question_lines)
        return _page(request, "edit.html", _form_context(request, agent, article, form, error), 400)
    except RelaydeskError as exc:
        return _page(
            request, "edit.html", _form_context(request, agent, article, form, exc.message), exc.status_code
        )
    return RedirectResponse(f"/kb/{article_id}", status_code=303)


@router.post("/kb/{article_id}/questions", response_class=HTMLResponse)
def add_questions(
    article_id: RecordId,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    question: Annotated[list[str] | None, Form()] = None,
    csrf_token: Short = "",
) -> Response:
    """Add what customers typed when the article solved their problem (the deflection report's
    proposals) to its questions, then back to the report."""
    if agent is None:
        return _login("/reports/deflection")
    if not _can_edit(agent) or not _csrf_ok(request, csrf_token):
        return _forbidden(request, agent)
    if session.get(Article, article_id) is not None:
        editor = service.Editor(agent.id, f"agent:{agent.id}")
        chosen = [q for q in (question or [])[:MAX_QUESTIONS] if q.strip()]
        service.learn_questions(session, [(article_id, q) for q in chosen], editor)
    return RedirectResponse(f"/reports/deflection#article-{article_id}", status_code=303)


# -- public help center ---------------------------------------------------------------------------------


@router.get("/help", response_class=HTMLResponse)
def help_root() -> Response:
    return RedirectResponse("/help/en", status_code=303)


@router.get("/help/{locale}", response_class=HTMLResponse)
def help_home(locale: str, request: Request, session: SessionDep) -> Response:
    locale = locale.lower()[:16]
    query = (request.query_params.get("q") or "").strip()[: service.MAX_QUERY_CHARS]
    within = request.query_params.get("s") or None  # the visit's session: a refined search continues it
    result, refused = None, ""
    if query:
        # A search writes a deflection session: held to the public routes' per-client limit, so a
        # crawler or a script cannot fill the reports (and the database) one GET at a time.
        from relaydesk.deflection.limits import public_guard

        try:
            public_guard(request)
            result = _help_center_search(session, query, locale, within)
        except RateLimitedError as exc:
            refused = exc.message
    articles = (
        []
        if query
        else service.list_articles(
            session,
            ArticleFilters(locale=locale, status=ArticleStatus.PUBLISHED, visibility=Visibility.PUBLIC),
            limit=200,
        )
    )
    return _page(
        request,
        "help_home.html",
        {"agent": None, "csrf_token": "", "locale": locale, "query": query, "result": result,
         "refused": refused, "sections": _by_category(articles), "url": service.article_url},
        status_code=429 if refused else 200,
    )  # fmt: skip


def _help_center_search(session: Session, query: str, locale: str, within: str | None) -> Any:
    """A help-center search, recorded as a deflection session (never in the holdout: the customer asked
    for results), so its articles can be answered "solved" and a search that finds nothing reaches the
    gap report; a search refined on the results page (``within``: its session) is one more query of the
    same session, as typing is. Returns the deflection ``SuggestResponse`` (``abstained``,
    ``suggestions``, ``session``)."""
    # Imported here: deflection builds on knowledge, not the other way round, except for this page.
    from relaydesk.deflection import service as deflection
    from relaydesk.deflection.enums import SessionSource
    from relaydesk.tickets.enums import Channel

    request = deflection.SuggestRequest(
        query=query,
        channel=Channel.WEB_FORM,
        source=SessionSource.HELP_CENTER,
        locale=locale,
        session_id=within if within and len(within) <= 40 else None,
        limit=5,
    )
    try:
        return deflection.suggest(session, request)
    except NotFoundError:  # an unknown session id in the link: a new session
        return deflection.suggest(session, replace(request, session_id=None))


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
    article = session.get(Article, int(number)) if number.isdigit() else None
    if article is None or not service.is_visible_to_customers(article) or article.locale != locale.lower():
        return _page(
            request,
            "help_missing.html",
            {"agent": None, "csrf_token": "", "locale": locale.lower()[:16]},
            status_code=404,
        )
    canonical = f"{article.id}-{slugify(article.title)}"
    asked_in = request.query_params.get("s") or ""
    if article_ref != canonical:
        keep = f"?s={quote(asked_in)}" if asked_in else ""
        return RedirectResponse(f"/help/{article.locale}/articles/{canonical}{keep}", status_code=301)
    return _page(
        request,
        "help_article.html",
        {"agent": None, "csrf_token": "", "locale": article.locale, "article": article,
         "html": render_markdown(article.body), "asked_in": _opened_from_search(session, asked_in, article),
         "url": service.article_url(article.id, article.title, article.locale)},
    )  # fmt: skip


def _opened_from_search(session: Session, public_id: str, article: Article) -> str | None:
    """The help-center search session this article was opened from (``?s=``), recorded as "viewed";
    the page then asks whether it solved the problem. None for a plain visit or a stale link."""
    if not public_id or len(public_id) > 40:
        return None
    from relaydesk.deflection import service as deflection

    try:
        deflection.record_feedback(session, public_id, article.id, "viewed")
    except RelaydeskError:
        return None
    return public_id
