"""Knowledge-base logic: articles with their version history, and the hybrid search other domains call.

Other domains use ``search`` (deflection, agent assist) and ``get_article``; they never read the
tables. Every write records a version row and bumps the index generation in the same transaction,
so every process's search index picks the change up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal
from relaydesk.db import Database
from relaydesk.kit.errors import ConflictError, NotFoundError
from relaydesk.kit.time import utcnow
from relaydesk.knowledge import repository
from relaydesk.knowledge.cache import index_cache
from relaydesk.knowledge.calibration import Calibration, QuestionMatch, default_calibration
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.index import CANDIDATES, HybridIndex, features_for_query, to_indexed
from relaydesk.knowledge.models import Article, ArticleVersion
from relaydesk.knowledge.repository import ArticleFilters
from relaydesk.knowledge.schemas import MAX_QUESTION_CHARS, MAX_QUESTIONS, ArticleCreate, ArticleUpdate
from relaydesk.knowledge.text import make_snippet, render_markdown, slugify
from relaydesk.knowledge.text import question_key as question_key  # public: deflection groups questions alike

__all__ = [
    "Article",
    "ArticleFilters",
    "ArticleNotFoundError",
    "Audience",
    "Editor",
    "LearntQuestions",
    "SearchResult",
    "Suggestion",
    "article_html",
    "article_ref",
    "article_url",
    "create_article",
    "delete_article",
    "get_article",
    "get_by_external_id",
    "help_center_articles",
    "learn_questions",
    "list_articles",
    "list_versions",
    "public_article",
    "publish_article",
    "questions_of",
    "rank",
    "search",
    "set_status",
    "store_calibration",
    "unpublish_article",
    "update_article",
]

Audience = Literal["customer", "agent"]
MAX_QUERY_CHARS = 2_000


class ArticleNotFoundError(NotFoundError):
    code = "article_not_found"


class StaleArticleError(ConflictError):
    code = "stale_article"


@dataclass(frozen=True)
class Editor:
    """Who changed an article: an agent, or a named tool (``import:kb.jsonl``)."""

    agent_id: int | None = None
    label: str = ""

    @classmethod
    def of(cls, principal: Principal) -> Editor:
        if principal.agent_id is not None:
            return cls(principal.agent_id, f"agent:{principal.agent_id}")
        return cls(None, f"api-token:{principal.token_id}")


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    snippet: str  # the best-matching passage, plain text, at most ~240 characters
    url: str  # public help-center URL: /help/{locale}/articles/{id}-{slug}
    score: float  # calibrated probability that the article answers the query, 0..1


@dataclass(frozen=True)
class SearchResult:
    query: str
    suggestions: list[Suggestion]  # empty when abstained
    abstained: bool
    took_ms: float
    # What the abstention hid, ranked as ``suggestions`` would have been; filled only when the caller
    # asks (``keep_withheld``: offline evaluation measures the ranking apart from the abstention).
    withheld: list[Suggestion] = field(default_factory=list)
    # The query search answered instead, its misspelt words corrected (None: answered as typed).
    corrected_query: str | None = None


def article_url(article_id: int, title: str, locale: str) -> str:
    return f"/help/{locale}/articles/{article_id}-{slugify(title)}"


# -- articles -------------------------------------------------------------------------------------------


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFoundError(f"No knowledge-base article {article_id}.")
    return article


def get_by_external_id(session: Session, external_id: str) -> Article | None:
    return repository.get_by_external_id(session, external_id)


def list_articles(
    session: Session, filters: ArticleFilters, *, after_id: int | None = None, limit: int = 50
) -> list[Article]:
    return repository.list_articles(session, filters, after_id=after_id, limit=limit)


def list_versions(session: Session, article: Article) -> Sequence[ArticleVersion]:
    return repository.versions_of(session, article.id)


def _record(session: Session, article: Article, change: str, editor: Editor) -> None:
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            change=change,
            title=article.title,
            body=article.body,
            category=article.category,
            tags=list(article.tags or []),
            questions=list(article.questions or []),
            locale=article.locale,
            visibility=article.visibility,
            status=article.status,
            editor_agent_id=editor.agent_id,
            editor=editor.label,
            created_at=utcnow(),
            attribution=article.attribution or "",
        )
    )


def _changed(
    session: Session, article: Article, change: str, editor: Editor, *, content: bool, warm: bool = True
) -> None:
    session.flush()
    _record(session, article, change, editor)
    repository.bump_generation(session)
    if warm and content and article.status == ArticleStatus.PUBLISHED:
        # Embed now, in the writer's transaction, so no searching process has to.
        index_cache.warm(session, [to_indexed(article)])
    index_cache.invalidate()


def _check_external_id(session: Session, external_id: str | None, article_id: int | None) -> None:
    if external_id is None:
        return
    other = repository.get_by_external_id(session, external_id)
    if other is not None and other.id != article_id:
        raise ConflictError(f"Article {other.id} already has the external id {external_id!r}.")


def create_article(
    session: Session, data: ArticleCreate, editor: Editor, *, change: str = "created", warm: bool = True
) -> Article:
    """Create an article; ``warm=False`` leaves embedding to the caller (imports embed in one batch)."""
    _check_external_id(session, data.external_id, None)
    now = utcnow()
    article = Article(
        external_id=data.external_id,
        title=data.title,
        body=data.body,
        category=data.category,
        tags=list(data.tags),
        questions=list(data.questions),
        locale=data.locale,
        visibility=data.visibility,
        status=data.status,
        attribution=data.attribution,
        version=1,
        published_at=now if data.status == ArticleStatus.PUBLISHED else None,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    _changed(session, article, change, editor, content=True, warm=warm)
    return article


def update_article(
    session: Session,
    article: Article,
    data: ArticleUpdate,
    editor: Editor,
    *,
    change: str = "updated",
    warm: bool = True,
) -> Article:
    """Apply the fields given; a ``version`` older than the article's is a conflict, not a lost edit."""
    if data.version is not None and data.version != article.version:
        raise StaleArticleError(
            f"Article {article.id} is at version {article.version}; your edit was made against version "
            f"{data.version}. Reload it and apply your change again."
        )
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if "external_id" in fields:
        _check_external_id(session, fields["external_id"], article.id)
    for name in ("title", "body", "tags", "questions", "locale", "visibility", "attribution"):
        if fields.get(name) is None:
            fields.pop(name, None)  # null leaves these as they are (the lists are cleared with [])
    changed = {name: value for name, value in fields.items() if getattr(article, name) != value}
    if not changed:
        return article
    for name, value in changed.items():
        setattr(article, name, list(value) if name in ("tags", "questions") else value)
    article.version += 1
    article.updated_at = utcnow()
    _changed(
        session,
        article,
        change,
        editor,
        content=bool({"title", "body", "questions"} & set(changed)),
        warm=warm,
    )
    return article


def set_status(
    session: Session, article: Article, status: ArticleStatus, editor: Editor, *, warm: bool = True
) -> Article:
    if article.status == status:
        return article
    article.status = status
    article.version += 1
    article.updated_at = utcnow()
    if status == ArticleStatus.PUBLISHED:
        article.published_at = article.updated_at
    _changed(session, article, str(status), editor, content=status == ArticleStatus.PUBLISHED, warm=warm)
    return article


def publish_article(session: Session, article: Article, editor: Editor) -> Article:
    return set_status(session, article, ArticleStatus.PUBLISHED, editor)


def unpublish_article(session: Session, article: Article, editor: Editor) -> Article:
    return set_status(session, article, ArticleStatus.DRAFT, editor)


def delete_article(session: Session, article: Article) -> None:
    session.delete(article)
    session.flush()
    repository.bump_generation(session)
    index_cache.invalidate()


# -- search ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearntQuestions:
    added: int  # questions added
    articles: int  # articles that gained some (one new version each)
    skipped: int  # over an article's MAX_QUESTIONS, or longer than a question may be


def questions_of(session: Session, article_ids: set[int] | Sequence[int]) -> dict[int, list[str]]:
    """Each existing article's questions, by id (for reports that propose new ones)."""
    return repository.questions_of(session, article_ids)


def learn_questions(
    session: Session, questions: Sequence[tuple[int, str]], editor: Editor
) -> LearntQuestions:
    """Add labelled queries (article id, the query) to their articles' questions, as ``kb calibrate``
    does: after the questions an article has, each new one once (``question_key``), up to MAX_QUESTIONS."""
    by_article: dict[int, list[str]] = {}
    for article_id, text in questions:
        by_article.setdefault(article_id, []).append(" ".join(text.split()))
    added = skipped = 0
    changed: list[Article] = []
    for article_id, texts in by_article.items():
        article = get_article(session, article_id)
        merged = list(article.questions or [])
        known = {question_key(q) for q in merged}
        for text in texts:
            if question_key(text) in known:
                continue
            if len(merged) >= MAX_QUESTIONS or len(text) > MAX_QUESTION_CHARS:
                skipped += 1
                continue
            known.add(question_key(text))
            merged.append(text)
        if len(merged) > len(article.questions or []):
            added += len(merged) - len(article.questions or [])
            update_article(
                session, article, ArticleUpdate(questions=merged), editor, change="learnt", warm=False
            )
            changed.append(article)
    published = [to_indexed(a) for a in changed if a.status == ArticleStatus.PUBLISHED]
    if published:
        index_cache.warm(session, published)  # one batch, in this transaction
    return LearntQuestions(added=added, articles=len(changed), skipped=skipped)


def store_calibration(session: Session, calibration: Calibration | None) -> None:
    """Use this calibration for every search of the installation (None: back to the shipped default)."""
    repository.write_calibration(session, calibration.to_dict() if calibration else None)
    index_cache.invalidate()


def current_calibration(session: Session) -> Calibration:
    """The installation's own calibration if ``kb calibrate`` stored one, else the shipped default."""
    stored = repository.read_calibration(session)
    return Calibration.from_dict(stored) if stored else default_calibration()


def search_index(session: Session) -> HybridIndex:
    """The process's index, fresh to within about a second of the last committed article change."""
    return index_cache.get(session)


def warm_search(database: Database) -> int:
    """Build this process's search index and load the query encoder now, so the first question after a
    start is answered in milliseconds instead of waiting seconds for both (``relaydesk serve`` calls it
    in the background as it starts). Returns how many articles the index holds."""
    with database.transaction(read_only=True) as session:
        index = search_index(session)
        if len(index):
            search(session, "warm up")
    return len(index)


def search(
    session: Session,
    query: str,
    *,
    locale: str | None = None,
    audience: Audience = "customer",
    limit: int = 3,
    keep_withheld: bool = False,
    leave_out_question: str | None = None,
) -> SearchResult:
    """Suggest published articles for a question, or abstain when none is likely enough to answer it.

    ``customer`` sees public articles only; ``agent`` sees internal ones too. ``score`` is calibrated:
    among suggestions scored 0.8, about eight in ten answer the question. After the first suggestion,
    those scoring under the calibration's ``min_score`` are left out (a confident answer is not padded
    with near-zero ones), so fewer than ``limit`` may come back. ``keep_withheld``: on an abstention,
    return what would have been suggested in ``withheld`` (for evaluation; never show it to a customer).
    """
    started = time.perf_counter()
    index = search_index(session)
    calibration = _calibration_for(session, index) if len(index) else default_calibration()
    return rank(
        index,
        calibration,
        query,
        locale=locale,
        audience=audience,
        limit=limit,
        started=started,
        keep_withheld=keep_withheld,
        leave_out_question=leave_out_question,
    )


def rank(
    index: HybridIndex,
    calibration: Calibration,
    query: str,
    *,
    locale: str | None = None,
    audience: Audience = "customer",
    limit: int = 3,
    started: float | None = None,
    keep_withheld: bool = False,
    leave_out_question: str | None = None,
) -> SearchResult:
    """Score one query against an index snapshot (``search`` without the database; the benchmark uses it).

    ``leave_out_question``: a ``question_key`` the articles' questions are matched without (evaluation
    leaves out a labelled query's own copy, so that it is scored as a new phrasing)."""
    started = time.perf_counter() if started is None else started
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query or len(index) == 0:
        return SearchResult(query, [], True, (time.perf_counter() - started) * 1000)

    def as_typed(text: str) -> SearchResult:
        return _rank_as_typed(
            index, calibration, text, locale=locale, audience=audience, limit=limit, started=started,
            keep_withheld=keep_withheld, leave_out_question=leave_out_question,
        )  # fmt: skip

    result = as_typed(query)
    if not result.abstained:
        return result
    # Typo tolerance, only where search found nothing: the query with its misspelt words corrected to
    # words of the knowledge base ("retrun my bots" → "return my boots"), so every query that search
    # answered as typed is scored exactly as before.
    corrected = index.speller().correct(query)
    if corrected == query:
        return result
    retried = as_typed(corrected)
    if retried.abstained:
        return result
    return replace(retried, query=query, corrected_query=corrected)


def _rank_as_typed(
    index: HybridIndex,
    calibration: Calibration,
    query: str,
    *,
    locale: str | None,
    audience: Audience,
    limit: int,
    started: float,
    keep_withheld: bool,
    leave_out_question: str | None,
) -> SearchResult:
    candidates, features, vector = features_for_query(
        index, query, public_only=audience != "agent", locale=locale, k=max(CANDIDATES, limit)
    )
    match = QuestionMatch.split(
        index.question_similarities(vector, candidates, leave_out=leave_out_question),
        calibration.fitted_questions,
    )
    probabilities = calibration.probabilities(features, match)
    scored_by = calibration.scorers(match, len(candidates))
    order = sorted(range(len(candidates)), key=lambda i: -probabilities[i])
    abstained = not order or probabilities[order[0]] < scored_by[order[0]].threshold
    if abstained and not keep_withheld:
        return SearchResult(query, [], True, (time.perf_counter() - started) * 1000)
    suggestions: list[Suggestion] = []
    for i in order[:limit]:
        if suggestions and probabilities[i] < scored_by[i].min_score:
            break  # far below a confident first answer: noise to a customer
        candidate = candidates[i]
        article_id, title = index.article_at(candidate.position)
        suggestions.append(
            Suggestion(
                article_id=article_id,
                title=title,
                snippet=make_snippet(index.passage_texts[candidate.best_passage]),
                url=article_url(article_id, title, str(index.locales[candidate.position])),
                score=round(float(probabilities[i]), 4),
            )
        )
    took_ms = (time.perf_counter() - started) * 1000
    if abstained:
        return SearchResult(query, [], True, took_ms, withheld=suggestions)
    return SearchResult(query, suggestions, False, took_ms)


_calibrations: dict[tuple[str, object], Calibration] = {}


def _calibration_for(session: Session, index: HybridIndex) -> Calibration:
    # Read once per index generation: storing a calibration bumps the generation too.
    cache_key = (str(session.get_bind().engine.url), index.key)
    found = _calibrations.get(cache_key)
    if found is None:
        found = current_calibration(session)
        _calibrations.clear()
        _calibrations[cache_key] = found
    return found


def is_visible_to_customers(article: Article) -> bool:
    return article.status == ArticleStatus.PUBLISHED and article.visibility == Visibility.PUBLIC


# -- the public help center (its pages are deflection's: relaydesk.deflection.help_center) --------------


def help_center_articles(session: Session, locale: str, *, limit: int = 200) -> list[Article]:
    """What a customer may browse in ``locale``: the published public articles."""
    filters = ArticleFilters(locale=locale, status=ArticleStatus.PUBLISHED, visibility=Visibility.PUBLIC)
    return list_articles(session, filters, limit=limit)


def public_article(session: Session, article_id: int, locale: str) -> Article | None:
    """The article as the help center in ``locale`` shows it; None when it is missing, a draft, internal
    or in another locale (a customer cannot tell these apart)."""
    article = session.get(Article, article_id)
    if article is None or not is_visible_to_customers(article) or article.locale != locale:
        return None
    return article


def article_ref(article: Article) -> str:
    """The article's canonical reference in help-center URLs: ``{id}-{slug of the title}``."""
    return f"{article.id}-{slugify(article.title)}"


def article_html(article: Article) -> str:
    """The body as customers read it: Markdown rendered with raw HTML off, then sanitised."""
    return render_markdown(article.body)
