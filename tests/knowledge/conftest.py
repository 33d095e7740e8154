"""Small slices of the StackFAQ knowledge base (data/stackfaq) for fast knowledge tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relaydesk.db import Database
from relaydesk.knowledge import service
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.schemas import ArticleCreate

DATA = Path(__file__).resolve().parents[2] / "data" / "stackfaq"
EDITOR = service.Editor(label="test")


def stackfaq_articles(count: int | None = None) -> list[dict[str, Any]]:
    lines = (DATA / "kb.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:count]]


def add_article(
    db: Database,
    title: str,
    body: str = "",
    *,
    visibility: Visibility = Visibility.PUBLIC,
    status: ArticleStatus = ArticleStatus.PUBLISHED,
    locale: str = "en",
    external_id: str | None = None,
    category: str | None = None,
    attribution: str = "",
) -> int:
    with db.transaction() as session:
        article = service.create_article(
            session,
            ArticleCreate(
                title=title,
                body=body,
                visibility=visibility,
                status=status,
                locale=locale,
                external_id=external_id,
                category=category,
                attribution=attribution,
            ),
            EDITOR,
        )
        return article.id


@pytest.fixture
def faq(database: Database) -> dict[str, int]:
    """Eight published StackFAQ articles; external id -> article id."""
    ids = {}
    for item in stackfaq_articles(8):
        ids[item["id"]] = add_article(database, item["title"], item["body"], external_id=item["id"])
    return ids
