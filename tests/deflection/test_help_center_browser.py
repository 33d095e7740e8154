"""Acceptance in real Chromium: the help center in Spanish, a misspelt question that still finds its
article (while typing and as a search), the thank-you page's ways on, and its chat entry point opening
the brand's chat widget."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.deflection.enums import SessionOutcome, SessionSource
from relaydesk.deflection.models import SuggestionSession

pytestmark = pytest.mark.browser


def test_a_spanish_customer_finds_the_returns_article_despite_typos_and_can_go_on(
    page, live_server, database, shop_articles, demo_site
):
    page.goto(f"{live_server}/help/es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="¿Cómo podemos ayudarte?")).to_be_visible()
    expect(page.get_by_test_id("locale-fallback")).to_contain_text("artículos en inglés")
    expect(page.get_by_test_id("help-brand")).to_have_text("Centro de ayuda de Northwind Outfitters")

    # Suggestions while typing, as in the widget: the typo is forgiven by the knowledge search.
    search = page.get_by_test_id("help-search-input")
    search.press_sequentially("retrun my bots", delay=20)
    typed = page.get_by_test_id("suggestion").filter(has_text="Returning or exchanging an item")
    expect(typed).to_be_visible()
    expect(typed.get_by_test_id("suggestion-solved")).to_have_text("Esto resolvió mi problema")

    # The search itself, then the article under the Spanish help center.
    page.get_by_test_id("help-search-submit").click()
    expect(page.get_by_role("heading", name="Resultados para «retrun my bots»")).to_be_visible()
    result = page.get_by_test_id("help-result").first.get_by_role("link")
    expect(result).to_have_text("Returning or exchanging an item")
    result.click()
    expect(page).to_have_url(re.compile(rf"/help/es/articles/{shop_articles['returns']}-"))
    expect(page.get_by_test_id("locale-fallback")).to_be_visible()
    page.get_by_role("button", name="Sí, esto resolvió mi problema").click()

    # The thank-you page is no dead end: search again, related articles, contact, chat.
    expect(page.get_by_role("heading", name="Nos alegra haberte ayudado")).to_be_visible()
    expect(page.get_by_test_id("search-again")).to_have_attribute("href", "/help/es")
    expect(page.get_by_test_id("related-articles").get_by_role("link")).to_have_text(
        ["When will I get my refund?"]
    )
    expect(page.get_by_test_id("next-contact")).to_have_attribute(
        "href", re.compile(r"^/help/es/contact\?q=retrun%20my%20bots&s=")
    )
    page.get_by_test_id("next-chat").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()

    # One session for the typing, the search and the answer; solved, counted in the help-center row.
    with database.transaction(read_only=True) as session:
        (row,) = session.scalars(select(SuggestionSession)).all()
        assert row.source is SessionSource.HELP_CENTER and not row.holdout
        assert row.outcome is SessionOutcome.DEFLECTED_CONFIRMED

    page.get_by_test_id("related-articles").get_by_role("link").click()
    expect(page.get_by_role("heading", name="When will I get my refund?")).to_be_visible()
