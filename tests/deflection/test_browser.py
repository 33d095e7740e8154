"""Acceptance in real Chromium: a visitor types a question, sees an article, says it solved the problem;
the deflection report counts it and no ticket exists."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.tickets.models import Ticket
from tests.factories import PASSWORD, count, make_agent

pytestmark = pytest.mark.browser


def deflection_report(live_server, login):
    with httpx.Client(base_url=live_server, headers=login.headers, timeout=10) as api:
        response = api.get("/api/v1/reports/deflection")
        assert response.status_code == 200
        return response.json()


def test_chat_visitor_solves_their_problem_with_a_suggested_article(
    page, live_server, database, articles, demo_site
):
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    page.get_by_test_id("chat-input").press_sequentially("I forgot my password and cannot sign in", delay=15)
    suggestion = page.get_by_test_id("suggestion").filter(has_text="Reset your password")
    expect(suggestion).to_be_visible()
    suggestion.get_by_test_id("suggestion-solved").click()
    expect(page.get_by_test_id("suggestion-thanks")).to_be_visible()

    lead = make_agent(database, Role.LEAD)
    report = deflection_report(live_server, lead)
    assert report["all"]["sessions"] == 1
    assert report["all"]["deflected_confirmed"] == 1
    assert report["treated"]["deflection_rate"] == 1.0
    assert count(database, Ticket) == 0


def test_help_center_visitor_solves_their_problem_before_sending_the_form(
    page, live_server, database, articles
):
    page.goto(f"{live_server}/help/en/contact")
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Your question").press_sequentially("Where is my parcel? It has not arrived", delay=15)
    suggestion = page.get_by_test_id("suggestion").filter(has_text="Track your order")
    expect(suggestion).to_be_visible()
    suggestion.get_by_test_id("suggestion-solved").click()
    expect(page.get_by_test_id("deflection-thanks")).to_be_visible()
    assert count(database, Ticket) == 0

    # A lead sees it on the report page.
    lead = make_agent(database, Role.LEAD)
    page.goto(f"{live_server}/login?next=/reports/deflection")
    page.get_by_label("Email").fill(lead.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("deflection-report")).to_be_visible()
    expect(page.get_by_test_id("confirmed-1")).to_have_text("1")
    assert deflection_report(live_server, lead)["all"]["deflected_confirmed"] == 1
    assert count(database, Ticket) == 0


def test_chat_visitor_who_sends_at_once_gets_the_bots_articles_and_solves_it(
    page, live_server, database, articles, demo_site
):
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("Where is my parcel? I want to track my order")
    page.get_by_test_id("chat-input").press("Enter")  # before any suggestion had time to show
    answer = page.get_by_test_id("bot-answer")
    expect(answer).to_be_visible(timeout=20_000)
    card = answer.get_by_test_id("suggestion").filter(has_text="Track your order")
    card.get_by_test_id("suggestion-solved").click()
    expect(page.get_by_test_id("bot-answer-thanks")).to_be_visible()
    page.reload()  # the answer was kept: the reloaded widget thanks them instead of asking again
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("bot-answer-thanks")).to_be_visible()
    expect(page.get_by_test_id("bot-answer").get_by_test_id("suggestion")).to_have_count(0)

    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.status.value == "resolved"
    lead = make_agent(database, Role.LEAD)
    assert deflection_report(live_server, lead)["all"]["deflected_confirmed"] == 1
