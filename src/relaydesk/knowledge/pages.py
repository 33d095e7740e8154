"""Server-rendered pages: the article editor for agents (/kb).

The preview renders Markdown exactly as the public help center will (markdown-it-py with raw HTML off,
sanitised with nh3); the help center itself is deflection's (``relaydesk.deflection.help_center``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import RelaydeskError
from relaydesk.kit.ids import RecordId
from relaydesk.knowledge import service
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.models import Article
from relaydesk.knowledge.repository import ArticleFilters
from relaydesk.knowledge.schemas import MAX_QUESTIONS, ArticleCreate, ArticleUpdate
from relaydesk.knowledge.text import render_markdown
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from relaydesk.agents.models import Agent

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
