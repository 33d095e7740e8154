"""REST routes of the knowledge base (/api/v1/kb), plus the editor's pages (the help center is deflection's).

Agents read every article, internal ones included; leads and above write.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from relaydesk.agents.dependencies import CurrentPrincipal, RequireLead
from relaydesk.kit.errors import BadRequestError
from relaydesk.kit.ids import RecordId
from relaydesk.knowledge import pages, service
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.models import Article
from relaydesk.knowledge.repository import ArticleFilters
from relaydesk.knowledge.schemas import (
    ArticleCreate,
    ArticleOut,
    ArticlePage,
    ArticleUpdate,
    ArticleVersionOut,
    SearchOut,
    SuggestionOut,
)
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter()
api = APIRouter(prefix="/api/v1/kb", tags=["knowledge"])
Limit = Annotated[int, Query(ge=1, le=200)]


def _out(article: Article) -> ArticleOut:
    return ArticleOut.model_validate(
        {
            **{c: getattr(article, c) for c in ArticleOut.model_fields if c != "url"},
            "url": service.article_url(article.id, article.title, article.locale),
        }
    )


@api.get("/articles", response_model=ArticlePage)
def list_articles(
    session: SessionDep,
    principal: CurrentPrincipal,
    locale: str | None = None,
    status_: Annotated[ArticleStatus | None, Query(alias="status")] = None,
    visibility: Visibility | None = None,
    category: str | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the title or body")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Limit = 50,
) -> ArticlePage:
    after_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise BadRequestError(
                "The cursor is not valid; pass next_cursor from the previous page unchanged."
            )
        after_id = int(cursor)
    filters = ArticleFilters(
        locale=locale, status=status_, visibility=visibility, category=category, tag=tag, text=q
    )
    items = service.list_articles(session, filters, after_id=after_id, limit=limit + 1)
    next_cursor = str(items[limit - 1].id) if len(items) > limit else None
    return ArticlePage(items=[_out(a) for a in items[:limit]], next_cursor=next_cursor)


@api.post("/articles", response_model=ArticleOut, status_code=status.HTTP_201_CREATED)
def create_article(data: ArticleCreate, session: SessionDep, principal: RequireLead) -> ArticleOut:
    return _out(service.create_article(session, data, service.Editor.of(principal)))


@api.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> ArticleOut:
    return _out(service.get_article(session, article_id))


@api.patch("/articles/{article_id}", response_model=ArticleOut)
def update_article(
    article_id: RecordId, data: ArticleUpdate, session: SessionDep, principal: RequireLead
) -> ArticleOut:
    article = service.get_article(session, article_id)
    return _out(service.update_article(session, article, data, service.Editor.of(principal)))


@api.post("/articles/{article_id}/publish", response_model=ArticleOut)
def publish_article(article_id: RecordId, session: SessionDep, principal: RequireLead) -> ArticleOut:
    article = service.get_article(session, article_id)
    return _out(service.publish_article(session, article, service.Editor.of(principal)))


@api.post("/articles/{article_id}/unpublish", response_model=ArticleOut)
def unpublish_article(article_id: RecordId, session: SessionDep, principal: RequireLead) -> ArticleOut:
    article = service.get_article(session, article_id)
    return _out(service.unpublish_article(session, article, service.Editor.of(principal)))


@api.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_article(article_id: RecordId, session: SessionDep, principal: RequireLead) -> Response:
    service.delete_article(session, service.get_article(session, article_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.get("/articles/{article_id}/versions", response_model=list[ArticleVersionOut])
def list_versions(
    article_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> list[ArticleVersionOut]:
    article = service.get_article(session, article_id)
    return [ArticleVersionOut.model_validate(v) for v in service.list_versions(session, article)]


@api.get("/search", response_model=SearchOut)
def search(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=service.MAX_QUERY_CHARS)],
    audience: Literal["customer", "agent"] = "agent",
    locale: str | None = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> SearchOut:
    """Hybrid search as deflection runs it; ``audience=customer`` shows what a customer would be offered."""
    result = service.search(session, q, locale=locale, audience=audience, limit=limit)
    return SearchOut(
        query=result.query,
        suggestions=[SuggestionOut(**vars(s)) for s in result.suggestions],
        abstained=result.abstained,
        took_ms=result.took_ms,
    )


router.include_router(api)
router.include_router(pages.router)
