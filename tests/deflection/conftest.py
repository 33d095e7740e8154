"""Fixtures for deflection tests: a small real knowledge base, the job worker, settings overrides."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from relaydesk.settings import reset_settings_cache
from tests.channels.chat.conftest import site  # noqa: F401  (the chat site, for the bot's answer in chat)
from tests.knowledge.conftest import add_article

SUGGEST = "/api/v1/public/suggestions"

ARTICLES = {
    "password": (
        "Reset your password",
        "If you forgot your password, open the sign-in page and choose 'Forgot password'. We email you "
        "a link to choose a new password. The link is valid for one hour.",
    ),
    "tracking": (
        "Track your order",
        "Every order has a tracking number. Open 'My orders', pick the order and follow the carrier link "
        "to see where your parcel is and when it will arrive.",
    ),
    "returns": (
        "Return an item for a refund",
        "You can return any item within 30 days. Print the free return label from 'My orders', pack the "
        "item and drop it at a post office. We refund you within 5 days of receiving it.",
    ),
    "address": (
        "Change your delivery address",
        "Before an order ships you can change its delivery address under 'My orders'. Once shipped, ask "
        "the carrier to redirect the parcel.",
    ),
}


@pytest.fixture
def articles(database) -> dict[str, int]:
    """Published public articles, created through the knowledge service (search is real)."""
    from relaydesk.knowledge import service as knowledge
    from relaydesk.knowledge.enums import ArticleStatus
    from relaydesk.knowledge.schemas import ArticleCreate

    ids = {}
    with database.transaction() as session:
        for key, (title, body) in ARTICLES.items():
            article = knowledge.create_article(
                session,
                ArticleCreate(title=title, body=body, status=ArticleStatus.PUBLISHED),
                knowledge.Editor(label="tests"),
            )
            ids[key] = article.id
    return ids


def suggest(client, query: str, **extra: str) -> dict:
    """Ask the public suggestions API as the chat widget does; answers its (successful) reply."""
    response = client.post(SUGGEST, json={"query": query, "channel": "web_chat", **extra})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def setting() -> Iterator[Callable[[str, str], None]]:
    """Override a RELAYDESK_ setting for one test."""
    touched: dict[str, str | None] = {}

    def set_(name: str, value: str) -> None:
        key = f"RELAYDESK_{name.upper()}"
        touched.setdefault(key, os.environ.get(key))
        os.environ[key] = value
        reset_settings_cache()

    yield set_
    for key, old in touched.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
    reset_settings_cache()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    from relaydesk.deflection.limits import reset_limiter

    reset_limiter()
    yield
    reset_limiter()


@pytest.fixture
def shop_articles(database) -> dict[str, int]:
    """The demo brand's kind of articles, with categories (related articles) and a returns article
    a misspelt query must find."""
    return {
        "returns": add_article(
            database,
            "Returning or exchanging an item",
            "Shoes too small or boots that do not fit? Send unworn items back within 30 days for a refund "
            "or another size: open Orders, choose Return items and print the prepaid label.",
            category="Returns",
        ),
        "refund": add_article(
            database,
            "When will I get my refund?",
            "Refunds go back to the original payment method within 5 business days of the return arriving.",
            category="Returns",
        ),
        "tracking": add_article(
            database,
            "Where is my order?",
            "Every order gets a tracking link by email as soon as it leaves our warehouse.",
            category="Shipping",
        ),
    }
