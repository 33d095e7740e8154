"""Import and export: JSONL (``id, title, body`` + optional fields) and folders of Markdown files.

A JSONL line is one article: ``id``, ``title`` and optionally ``body`` (Markdown), ``locale``,
``category``, ``tags``, ``questions``, ``visibility`` (``public`` | ``internal``) and ``status``
(``published`` | ``draft``; imports publish by default). Wrapped here, one line in the file::

    {"id": "faq-001", "title": "How do I delete my account?", "body": "Open Settings ...",
     "tags": ["account"], "questions": ["close my account", "remove my profile for good"]}

``questions`` are the other ways customers ask what the article answers: search matches queries
against them, and they are never shown to customers. A record without the field leaves an existing
article's questions as they are (files from before the field existed, or from tools that do not know
it, would otherwise wipe what editors wrote); ``"questions": []`` clears them.
Exports always write the field, so an export imported again reproduces every article.

Imports upsert by external id (the file's ``id``), record an ``imported`` version for every article
they create or change, and report each bad record with its line or file instead of dropping it.
A Markdown file carries its fields in YAML front matter::

    ---
    id: faq-001
    title: How do I delete my account?
    locale: en
    tags: [account]
    questions:
    - close my account
    - remove my profile for good
    visibility: public
    ---
    Markdown body ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from relaydesk.knowledge import repository, service
from relaydesk.knowledge.cache import index_cache
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.index import to_indexed
from relaydesk.knowledge.models import Article
from relaydesk.knowledge.schemas import (
    ArticleCreate,
    ArticleUpdate,
    ExternalId,
    Locale,
    Questions,
    Tag,
    Title,
)

__all__ = [
    "ArticleRecord",
    "ImportReport",
    "export_jsonl",
    "export_markdown",
    "import_records",
    "read_jsonl",
    "read_markdown_dir",
]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


class ArticleRecord(BaseModel):
    """One article as files carry it."""

    model_config = ConfigDict(extra="forbid")

    id: ExternalId
    title: Title
    body: str = Field(default="", max_length=200_000)
    locale: Locale = "en"
    category: str | None = Field(default=None, max_length=120)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    # None (the field left out): an existing article keeps its questions; a new one has none.
    questions: Questions | None = None
    visibility: Visibility = Visibility.PUBLIC
    status: ArticleStatus = ArticleStatus.PUBLISHED
    # Where the text came from and its licence: metadata, never in the body customers read. None (left
    # out): an existing article keeps its attribution.
    attribution: str | None = Field(default=None, max_length=500)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"line" or "file", "error"}

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": len(self.errors),
            "errors": self.errors,
        }


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors())


def read_jsonl(path: Path, report: ImportReport) -> Iterator[ArticleRecord]:
    """Valid records of a JSONL file; each bad line goes to ``report.errors`` with its number."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield ArticleRecord.model_validate(json.loads(line))
            except json.JSONDecodeError as exc:
                report.errors.append({"line": number, "error": f"not JSON: {exc.msg}"})
            except ValidationError as exc:
                report.errors.append({"line": number, "error": _explain(exc)})


def parse_markdown(text: str, default_id: str) -> ArticleRecord:
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise ValueError(
            "no YAML front matter (a block between '---' lines at the top with at least 'title')"
        )
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping of field: value")
    meta.setdefault("id", default_id)
    meta["id"] = str(meta["id"])
    return ArticleRecord.model_validate({**meta, "body": match.group(2).strip("\n")})


def read_markdown_dir(directory: Path, report: ImportReport) -> Iterator[ArticleRecord]:
    for path in sorted(directory.rglob("*.md")):
        name = str(path.relative_to(directory))
        try:
            yield parse_markdown(path.read_text(encoding="utf-8"), path.stem)
        except ValidationError as exc:
            report.errors.append({"file": name, "error": _explain(exc)})
        except (ValueError, UnicodeDecodeError) as exc:
            report.errors.append({"file": name, "error": str(exc)})


def import_records(
    session: Session,
    records: Iterable[ArticleRecord],
    editor: service.Editor,
    report: ImportReport,
    *,
    warm: bool = True,
) -> ImportReport:
    """Upsert by external id; embeddings of the changed articles are computed once, in one batch.

    ``warm=False`` leaves the embedding to the first search (the demo seed stays fast).
    """
    changed: list[Article] = []
    seen: set[str] = set()
    batch: list[ArticleRecord] = []

    def flush_batch() -> None:
        existing = repository.get_by_external_ids(session, [r.id for r in batch])
        for record in batch:
            article = existing.get(record.id)
            fields = record.model_dump(exclude={"id"})
            for keep in ("questions", "attribution"):
                if fields[keep] is None:
                    fields.pop(keep)
            if article is None:
                article = service.create_article(
                    session,
                    ArticleCreate(external_id=record.id, **fields),
                    editor,
                    change="imported",
                    warm=False,
                )
                report.created += 1
                changed.append(article)
                continue
            before = article.version
            status = fields.pop("status")
            service.update_article(
                session, article, ArticleUpdate(**fields), editor, change="imported", warm=False
            )
            if status != article.status:
                service.set_status(session, article, status, editor, warm=False)
            if article.version != before:
                report.updated += 1
                changed.append(article)
            else:
                report.unchanged += 1
        batch.clear()

    for record in records:
        if record.id in seen:
            report.errors.append(
                {"id": record.id, "error": "the same id appears twice; the first one was kept"}
            )
            continue
        seen.add(record.id)
        batch.append(record)
        if len(batch) >= 200:
            flush_batch()
    if batch:
        flush_batch()
    published = [to_indexed(a) for a in changed if a.status == ArticleStatus.PUBLISHED]
    if published and warm:
        index_cache.warm(session, published)
    return report


def _record_of(article: Article) -> dict[str, Any]:
    record = {
        "id": article.external_id or f"kb-{article.id}",
        "title": article.title,
        "body": article.body,
        "locale": article.locale,
        "category": article.category,
        "tags": list(article.tags or []),
        "questions": list(article.questions or []),
        "visibility": str(article.visibility),
        "status": str(article.status),
    }
    if article.attribution:  # left out when empty: files from before the field read back the same
        record["attribution"] = article.attribution
    return record


def export_jsonl(session: Session, handle: Any) -> int:
    count = 0
    for article in repository.all_articles(session):
        handle.write(json.dumps(_record_of(article), ensure_ascii=False) + "\n")
        count += 1
    return count


def _file_name(external_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", external_id).strip(".-")[:150] or "article"


def export_markdown(session: Session, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for article in repository.all_articles(session):
        record = _record_of(article)
        body = record.pop("body")
        if record["category"] is None:
            record.pop("category")
        front = yaml.safe_dump(record, allow_unicode=True, sort_keys=False).strip()
        (directory / f"{_file_name(record['id'])}.md").write_text(
            f"---\n{front}\n---\n{body}\n", encoding="utf-8"
        )
        count += 1
    return count
