"""Every query of the knowledge base."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relaydesk.kit.time import utcnow
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.models import Article, ArticleVersion, KnowledgeIndexState, PassageEmbedding

__all__ = [
    "ArticleFilters",
    "bump_generation",
    "get_by_external_id",
    "index_generation",
    "list_articles",
    "load_embeddings",
    "published_for_index",
    "read_calibration",
    "save_embeddings",
    "versions_of",
    "write_calibration",
]

STATE_ID = 1


@dataclass(frozen=True)
class ArticleFilters:
    locale: str | None = None
    status: ArticleStatus | None = None
    visibility: Visibility | None = None
    category: str | None = None
    tag: str | None = None
    text: str | None = None  # substring of title or body (the editor's filter box, not ranked search)


def _filtered(filters: ArticleFilters) -> Select[Any]:
    query = select(Article)
    if filters.locale:
        query = query.where(Article.locale == filters.locale)
    if filters.status:
        query = query.where(Article.status == filters.status)
    if filters.visibility:
        query = query.where(Article.visibility == filters.visibility)
    if filters.category:
        query = query.where(Article.category == filters.category)
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Article.title.ilike(pattern, escape="\\"), Article.body.ilike(pattern, escape="\\"))
        )
    return query


def list_articles(
    session: Session, filters: ArticleFilters, *, after_id: int | None, limit: int
) -> list[Article]:
    query = _filtered(filters).order_by(Article.id).limit(limit if not filters.tag else None)
    if after_id is not None:
        query = query.where(Article.id > after_id)
    rows: list[Article] = list(session.scalars(query))
    if filters.tag:
        # Tags are a JSON list; filtering in Python keeps SQLite and PostgreSQL identical.
        rows = [a for a in rows if filters.tag in (a.tags or [])][:limit]
    return rows


def all_articles(session: Session) -> Sequence[Article]:
    return session.scalars(select(Article).order_by(Article.id)).all()


def get_by_external_id(session: Session, external_id: str) -> Article | None:
    return session.scalar(select(Article).where(Article.external_id == external_id))


def get_by_external_ids(session: Session, external_ids: Sequence[str]) -> dict[str, Article]:
    found: dict[str, Article] = {}
    ids = list(external_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for article in session.scalars(select(Article).where(Article.external_id.in_(chunk))):
            if article.external_id is not None:
                found[article.external_id] = article
    return found


def questions_of(session: Session, article_ids: set[int] | Sequence[int]) -> dict[int, list[str]]:
    """Each existing article's questions, by id (a deleted article is left out)."""
    if not article_ids:
        return {}
    rows = session.execute(select(Article.id, Article.questions).where(Article.id.in_(list(article_ids))))
    return {int(article_id): list(questions or []) for article_id, questions in rows}


def versions_of(session: Session, article_id: int) -> Sequence[ArticleVersion]:
    return session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
    ).all()


def _ensure_state_row(session: Session) -> None:
    if session.get(KnowledgeIndexState, STATE_ID) is not None:
        return
    try:
        with session.begin_nested():
            session.add(KnowledgeIndexState(id=STATE_ID, generation=0, updated_at=utcnow()))
    except IntegrityError:
        pass  # another transaction created it first; the UPDATE below then waits for it


def bump_generation(session: Session) -> None:
    """Mark the index stale for every process, in the transaction of the change."""
    if not _increment_generation(session):
        _ensure_state_row(session)
        _increment_generation(session)


def _increment_generation(session: Session) -> bool:
    result = session.execute(
        update(KnowledgeIndexState)
        .where(KnowledgeIndexState.id == STATE_ID)
        .values(generation=KnowledgeIndexState.generation + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def read_calibration(session: Session) -> dict[str, Any] | None:
    return session.scalar(select(KnowledgeIndexState.calibration).where(KnowledgeIndexState.id == STATE_ID))


def write_calibration(session: Session, calibration: dict[str, Any] | None) -> None:
    _ensure_state_row(session)
    session.execute(
        update(KnowledgeIndexState)
        .where(KnowledgeIndexState.id == STATE_ID)
        .values(calibration=calibration)
        .execution_options(synchronize_session=False)
    )
    bump_generation(session)


def load_embeddings(session: Session, hashes: Sequence[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    wanted = list(hashes)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(PassageEmbedding.content_hash, PassageEmbedding.vector).where(
                PassageEmbedding.content_hash.in_(chunk)
            )
        )
        found.update({h: v for h, v in rows})
    return found


def save_embeddings(session: Session, vectors: dict[str, bytes], dimensions: int) -> None:
    """Insert cache rows; a row another process wrote meanwhile is identical, so conflicts are skipped."""
    if not vectors:
        return
    now = utcnow()
    rows = [
        {"content_hash": h, "dimensions": dimensions, "vector": v, "created_at": now}
        for h, v in vectors.items()
    ]
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 500):
        session.execute(insert(PassageEmbedding).on_conflict_do_nothing(), rows[start : start + 500])


# -- what the search index reads (knowledge/cache.py) ---------------------------------------------------


def index_generation(session: Session) -> tuple[int, datetime | None]:
    """The index generation and when it moved: a process whose index was built at another rebuilds."""
    row = session.execute(
        select(KnowledgeIndexState.generation, KnowledgeIndexState.updated_at).where(
            KnowledgeIndexState.id == STATE_ID
        )
    ).first()
    return (int(row[0]), row[1]) if row else (0, None)


def published_for_index(session: Session) -> Sequence[Row[int, str, str, str, Visibility, list[str]]]:
    """Every published article's id, title, body, locale, visibility and questions, in id order."""
    return session.execute(
        select(Article.id, Article.title, Article.body, Article.locale, Article.visibility, Article.questions)
        .where(Article.status == ArticleStatus.PUBLISHED)
        .order_by(Article.id)
    ).all()
