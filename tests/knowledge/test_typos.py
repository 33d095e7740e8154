"""Typo tolerance: a misspelt query that abstains is retried with its words corrected to the
knowledge base's vocabulary (``knowledge.spelling``); a query search answers as typed is untouched."""

from __future__ import annotations

import pytest

from relaydesk.knowledge import service
from relaydesk.knowledge.spelling import Speller
from tests.knowledge.conftest import add_article

RETURNS = (
    "Returning or exchanging an item",
    "Shoes too small, boots that do not fit, or not what you expected? Unworn items can be sent back "
    "within 30 days of delivery for free, for a refund or in exchange for another size. Sign in, open "
    "Orders and choose Return items, then print the prepaid label.",
)
TRACKING = (
    "Where is my order? Tracking a delivery",
    "Every order gets a tracking link by email as soon as it leaves our warehouse. Standard delivery "
    "takes 3 to 5 business days.",
)
PASSWORD = (
    "I forgot my password",
    "On the sign-in page choose Forgot password, enter the email address of your account and follow "
    "the link we send.",
)


@pytest.fixture
def shop(database) -> dict[str, int]:
    return {name: add_article(database, *text) for name, text in
            (("returns", RETURNS), ("tracking", TRACKING), ("password", PASSWORD))}  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "corrected"),
    [
        ("retrun my bots", "return my boots"),  # a swapped pair, a missing letter
        ("trakcing my ordr", "tracking my order"),
        ("can I pay with bitcoin", "can I pay with bitcoin"),  # nothing one edit away: kept
        ("Sign in", "Sign in"),  # short words are never corrected
    ],
)
def test_misspelt_words_are_corrected_to_the_vocabulary(typed, corrected):
    speller = Speller.from_texts([RETURNS[0] + " " + RETURNS[1], TRACKING[0] + " " + TRACKING[1]])
    assert speller.correct(typed) == corrected


def test_the_most_used_neighbour_wins():
    speller = Speller.from_texts(["parcel", "parcel arrived", "parcels"])
    assert speller.correct_word("parcek") == "parcel"
    assert speller.correct_word("parcel") is None  # known words stay


def test_a_typo_query_finds_its_article(database, shop):
    with database.transaction(read_only=True) as session:
        result = service.search(session, "retrun my bots")
    assert not result.abstained
    assert result.suggestions[0].article_id == shop["returns"]
    assert result.query == "retrun my bots" and result.corrected_query == "return my boots"


def test_a_query_answered_as_typed_is_not_corrected(database, shop):
    with database.transaction(read_only=True) as session:
        result = service.search(session, "I forgot my pasword")
        unrelated = service.search(session, "can I pay with bitcoin")
    assert result.suggestions[0].article_id == shop["password"] and result.corrected_query is None
    assert unrelated.abstained and unrelated.corrected_query is None
