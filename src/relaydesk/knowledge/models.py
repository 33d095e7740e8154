"""Tables of the knowledge base: articles, their version history, and the search index's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin, enum_column
from relaydesk.kit.time import utcnow
from relaydesk.knowledge.enums import ArticleStatus, Visibility

__all__ = [
    "Article",
    "ArticleStatus",
    "ArticleVersion",
    "KnowledgeIndexState",
    "PassageEmbedding",
    "Visibility",
]


class Article(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_locale_status", "locale", "status"),)

    # The id an import gave it (``faq-001``): imports upsert by it. Articles written in the editor have none.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    category: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Other ways customers ask what the article answers ("my card was swallowed"), written by editors or
    # learnt from labelled queries (``relaydesk kb calibrate``): search compares a query with them too.
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility), default=Visibility.PUBLIC)
    status: Mapped[ArticleStatus] = mapped_column(enum_column(ArticleStatus), default=ArticleStatus.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime | None]
    # Where the text came from and under which licence ("ABCD agent guidelines, ASAPP Research, MIT
    # licence"): metadata for editors and exports, never part of the body customers read.
    attribution: Mapped[str] = mapped_column(String(500), default="")


class ArticleVersion(IdMixin, Base):
    """One row per change of an article: what it said after the change, who made it, and when."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(32))  # created, updated, published, unpublished, imported
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    locale: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility))
    status: Mapped[ArticleStatus] = mapped_column(enum_column(ArticleStatus))
    editor_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # Who, in words, also for changes that no agent made ("import:kb.jsonl", "api-token:7").
    editor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attribution: Mapped[str] = mapped_column(String(500), default="")


class KnowledgeIndexState(Base):
    """One row: a generation number every article change bumps in its own transaction.

    Each process compares it with the generation its in-memory index was built at, so an article
    saved through any process is searchable in every process within about a second.
    """

    __tablename__ = "kb_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    # The installation's own search calibration (``relaydesk kb calibrate``); None: the shipped default.
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassageEmbedding(Base):
    """Sentence embeddings of passages keyed by a hash of model and text, so no process re-embeds them."""

    __tablename__ = "kb_passage_embeddings"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
