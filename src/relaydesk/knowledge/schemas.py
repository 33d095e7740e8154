"""API shapes of the knowledge base."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.text import question_key

__all__ = [
    "ArticleCreate",
    "ArticleOut",
    "ArticlePage",
    "ArticleUpdate",
    "ArticleVersionOut",
    "Locale",
    "Question",
    "Questions",
    "SearchOut",
    "SuggestionOut",
    "Tag",
]

# BCP 47-ish: "en", "de", "pt-br". Kept lower-case so URLs and filters agree.
Locale = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$"),
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]

MAX_QUESTIONS = 200
MAX_QUESTION_CHARS = 300
# One other way customers ask what an article answers, spaced as one line ("my  card\nwas eaten" and
# "my card was eaten" are the same question to search).
Question = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS),
    # After the constraints in this list, so that it runs before them (and their messages say "String").
    BeforeValidator(lambda v: " ".join(v.split()) if isinstance(v, str) else v),
]


def _distinct_questions(questions: list[str]) -> list[str]:
    """The first of each question that differs only in case (``question_key``); counted after that, so
    that repeats pasted from a log do not push a list over the limit."""
    seen: set[str] = set()
    kept: list[str] = []
    for question in questions:
        key = question_key(question)
        if key not in seen:
            seen.add(key)
            kept.append(question)
    if len(kept) > MAX_QUESTIONS:
        raise ValueError(
            f"an article takes at most {MAX_QUESTIONS} different questions, not {len(kept)}; "
            "keep the ways customers ask most often"
        )
    return kept


Questions = Annotated[
    list[Question],
    AfterValidator(_distinct_questions),
    Field(json_schema_extra={"maxItems": MAX_QUESTIONS}),
]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: str = Field(default="", max_length=200_000, description="Markdown")
    external_id: ExternalId | None = None
    category: str | None = Field(default=None, max_length=120)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    questions: Questions = Field(
        default_factory=list,
        description="other ways customers ask what this article answers; search only, never shown to them",
    )
    locale: Locale = "en"
    visibility: Visibility = Visibility.PUBLIC
    status: ArticleStatus = ArticleStatus.DRAFT
    attribution: str = Field(
        default="",
        max_length=500,
        description="where the text came from and its licence; never shown to customers",
    )


class ArticleUpdate(BaseModel):
    """Only the fields given change. ``version`` (optional) makes a stale edit a 409."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: str | None = Field(default=None, max_length=200_000)
    external_id: ExternalId | None = None
    category: str | None = Field(default=None, max_length=120)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    questions: Questions | None = Field(default=None, description="the whole new list; [] clears it")
    locale: Locale | None = None
    visibility: Visibility | None = None
    attribution: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1, description="the version this edit was made against")


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    title: str
    body: str
    category: str | None
    tags: list[str]
    questions: list[str]
    locale: str
    visibility: Visibility
    status: ArticleStatus
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    url: str
    attribution: str = ""


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None


class ArticleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    change: str
    title: str
    body: str
    category: str | None
    tags: list[str]
    questions: list[str]
    locale: str
    visibility: Visibility
    status: ArticleStatus
    editor_agent_id: int | None
    editor: str
    created_at: datetime


class SuggestionOut(BaseModel):
    article_id: int
    title: str
    snippet: str
    url: str
    score: float


class SearchOut(BaseModel):
    query: str
    suggestions: list[SuggestionOut]
    abstained: bool
    took_ms: float
