"""The demo brand's help center answers what its customers ask, in their words, and stays silent on
what it does not cover: the demo's articles through the shipped search and calibration."""

from __future__ import annotations

import pytest

from relaydesk.demo.seed import seed_knowledge
from relaydesk.knowledge import service

ANSWERED = [
    ("I want to send back my boots", "Returning or exchanging an item"),
    ("these boots are too small, can I exchange them", "Returning or exchanging an item"),
    ("where is my package", "Where is my order? Tracking a delivery"),
    ("I moved, can you send the order to my new address", "Changing the delivery address of an order"),
    ("can't log in to my account", "I forgot my password"),
    ("the coupon says invalid", "My promo code does not work"),
    # Short questions, answered through the articles' questions (none of these is one of them).
    ("my parcel is late", "Where is my order? Tracking a delivery"),
    ("tracking my order", "Where is my order? Tracking a delivery"),
    ("I need a bigger size", "Returning or exchanging an item"),
    ("discount code rejected", "My promo code does not work"),
]
NOT_COVERED = ["do you ship to Canada", "what are your opening hours", "can I pay with paypal"]


@pytest.fixture
def demo_articles(database):
    with database.transaction() as session:
        assert seed_knowledge(session) > 0


@pytest.mark.parametrize(("question", "title"), ANSWERED)
def test_a_customer_question_finds_its_demo_article(database, demo_articles, question, title):
    with database.transaction(read_only=True) as session:
        result = service.search(session, question, audience="customer")
    assert not result.abstained, question
    assert result.suggestions[0].title == title


@pytest.mark.parametrize("question", NOT_COVERED)
def test_a_question_the_demo_articles_do_not_cover_gets_no_suggestion(database, demo_articles, question):
    with database.transaction(read_only=True) as session:
        result = service.search(session, question, audience="customer")
    assert result.abstained and result.suggestions == []
