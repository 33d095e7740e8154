"""Hybrid search as other domains call it: ``knowledge.service.search``."""

from __future__ import annotations

from relaydesk.db import Database
from relaydesk.knowledge import service
from relaydesk.knowledge.cache import IndexCache
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from tests.knowledge.conftest import add_article


def test_a_paraphrased_question_finds_its_article_with_snippet_url_and_score(database, faq):
    with database.transaction(read_only=True) as session:
        result = service.search(session, "how can I remove my facebook profile for good?")
    assert not result.abstained
    top = result.suggestions[0]
    assert top.article_id == faq["faq-001"]
    assert top.url == f"/help/en/articles/{top.article_id}-how-do-i-delete-my-facebook-account"
    assert 0.0 < top.score <= 1.0 and len(top.snippet) <= 241 and "account" in top.snippet.lower()
    assert [s.score for s in result.suggestions] == sorted(
        (s.score for s in result.suggestions), reverse=True
    )
    assert len(result.suggestions) <= 3 and result.took_ms > 0


def test_internal_articles_reach_agents_but_never_customers(database, faq):
    internal = add_article(
        database,
        "Refund override procedure for chargebacks",
        "Agents only: open the billing console and press override to refund a chargeback.",
        visibility=Visibility.INTERNAL,
    )
    with database.transaction(read_only=True) as session:
        query = "refund override procedure for a chargeback"
        as_agent = service.search(session, query, audience="agent")
        as_customer = service.search(session, query, audience="customer", limit=10)
    assert as_agent.suggestions[0].article_id == internal
    assert internal not in {s.article_id for s in as_customer.suggestions}


def test_drafts_and_other_locales_are_not_suggested(database, faq):
    draft = add_article(
        database, "Zebra stripes knitting pattern", "How to knit zebra stripes.", status=ArticleStatus.DRAFT
    )
    german = add_article(database, "Zebrastreifen stricken", "Wie man Zebrastreifen strickt.", locale="de")
    with database.transaction(read_only=True) as session:
        english = service.search(session, "zebra stripes knitting", locale="en", limit=10)
        any_locale = service.search(session, "Zebrastreifen stricken", limit=10)
    assert draft not in {s.article_id for s in english.suggestions}
    assert german not in {s.article_id for s in english.suggestions}
    assert draft not in {s.article_id for s in any_locale.suggestions}


def test_an_unrelated_question_gets_no_suggestion(database, faq):
    with database.transaction(read_only=True) as session:
        result = service.search(session, "what is the boiling point of water on mount everest")
    assert result.abstained and result.suggestions == []


def test_an_article_saved_through_another_database_is_found_by_an_index_built_before(database, faq):
    cache = IndexCache(check_seconds=0.0)  # this "process" checks the generation on every search
    with database.transaction(read_only=True) as session:
        before = cache.get(session)
    other_process = Database(database.url)
    try:
        created = add_article(
            other_process,
            "Renaming a Trello board",
            "Open the board menu, choose Settings, then Rename board.",
        )
    finally:
        other_process.dispose()
    with database.transaction(read_only=True) as session:
        after = cache.get(session)
    assert not before.contains(created) and after.contains(created)


def test_passage_embeddings_are_stored_by_the_writer_so_other_processes_need_not_embed(database):
    from sqlalchemy import func, select

    from relaydesk.knowledge.index import passages_for
    from relaydesk.knowledge.models import PassageEmbedding

    body = "First paragraph about gift cards.\n\n" + "Second paragraph, " * 70
    add_article(database, "Gift cards", body)
    passages, _ = passages_for("Gift cards", body)
    with database.transaction(read_only=True) as session:
        stored = session.scalar(select(func.count()).select_from(PassageEmbedding))
    assert len(passages) >= 2 and stored == len(passages) + 1  # every passage, and the title


def test_an_installation_calibration_replaces_the_default_in_every_search(database, faq):
    from dataclasses import replace

    from relaydesk.knowledge.calibration import default_calibration

    strict = replace(default_calibration(), threshold=1.01)  # no probability reaches it
    with database.transaction() as session:
        service.store_calibration(session, strict)
    query = "how can I remove my facebook profile for good?"
    with database.transaction(read_only=True) as session:
        assert service.search(session, query).abstained
    with database.transaction() as session:
        service.store_calibration(session, None)
    with database.transaction(read_only=True) as session:
        assert not service.search(session, query).abstained


def test_an_abstention_withholds_its_ranking_from_customers_and_keeps_it_for_evaluation(database, faq):
    from dataclasses import replace

    from relaydesk.knowledge.calibration import default_calibration

    query = "how can I remove my facebook profile for good?"
    with database.transaction(read_only=True) as session:
        index = service.search_index(session)
    strict = replace(default_calibration(), threshold=1.01)
    customer = service.rank(index, strict, query)
    evaluation = service.rank(index, strict, query, keep_withheld=True)
    assert customer.abstained and customer.suggestions == [] and customer.withheld == []
    assert evaluation.abstained and evaluation.suggestions == []
    assert evaluation.withheld[0].article_id == faq["faq-001"]
    assert evaluation.withheld == service.rank(index, default_calibration(), query).suggestions


def test_a_confident_answer_is_not_padded_with_near_zero_suggestions(database, faq):
    from dataclasses import replace

    from relaydesk.knowledge.calibration import default_calibration

    query = "how can I remove my facebook profile for good?"
    shipped = default_calibration()
    with database.transaction(read_only=True) as session:
        shown = service.search(session, query)
        index = service.search_index(session)
    padded = service.rank(index, replace(shipped, min_score=0.0), query)
    assert shipped.min_score > 0
    assert len(padded.suggestions) == 3 and padded.suggestions[-1].score < shipped.min_score
    assert shown.suggestions[0] == padded.suggestions[0]
    assert 1 <= len(shown.suggestions) < 3
    assert all(s.score >= shipped.min_score for s in shown.suggestions[1:])


def test_a_warming_server_reports_not_ready_until_its_index_is_built(database, faq, caplog):
    import logging
    import time

    from fastapi.testclient import TestClient

    from relaydesk.app import create_app

    caplog.set_level(logging.INFO, logger="relaydesk")
    service.index_cache.invalidate()
    with TestClient(create_app(warm_search=True)) as client:
        deadline = time.monotonic() + 60
        while (ready := client.get("/readyz")).status_code == 503:
            assert ready.json()["checks"]["search"] == "warming"
            assert time.monotonic() < deadline, "the search never finished warming"
            time.sleep(0.05)
        assert ready.json()["checks"]["search"] == "ok"
    assert f"knowledge search warm: {len(faq)} articles" in caplog.text


def test_a_server_that_does_not_warm_has_no_search_check(client):
    assert "search" not in client.get("/readyz").json()["checks"]
