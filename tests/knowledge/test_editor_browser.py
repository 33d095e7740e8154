"""The article editor in real Chromium: a lead writes the other ways customers ask, one per line."""

from __future__ import annotations

import re

import pytest

from relaydesk.auth.roles import Role
from relaydesk.knowledge import service
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, make_agent

pytestmark = pytest.mark.browser


def test_a_lead_saves_questions_one_per_line_and_sees_them_again(page, live_server, database):
    lead = make_agent(database, Role.LEAD)
    sign_in(page, live_server, "/kb/new", lead.email, PASSWORD)
    page.wait_for_url(f"{live_server}/kb/new")
    assert "matches customers' questions" in page.locator("#kb-questions-hint").inner_text()

    page.fill("#kb-title", "Gift cards")
    page.fill("#kb-body", "Gift cards never expire.")
    page.fill("#kb-questions", "do gift cards expire\n\nDO GIFT CARDS EXPIRE\nis my voucher still good")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/kb/\d+$"))
    assert page.input_value("#kb-questions") == "do gift cards expire\nis my voucher still good"
    article_id = int(page.url.rsplit("/", 1)[1])

    page.fill("#kb-questions", "will my gift card run out")
    page.click("button[value=publish]")
    page.wait_for_selector("text=published · public")
    assert page.input_value("#kb-questions") == "will my gift card run out"
    with database.transaction(read_only=True) as session:
        assert service.get_article(session, article_id).questions == ["will my gift card run out"]

    page.goto(f"{live_server}/help/en/articles/{article_id}-gift-cards")
    assert "Gift cards never expire." in page.content() and "run out" not in page.content()
