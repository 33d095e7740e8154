"""The ladder in real Chromium: a frontline agent escalates with a reason and a handoff note, the tier-2
agent who took it acknowledges, and sends it back down with a note the frontline agent then reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD
from tests.routing.conftest import accept_as, offer_of, queued_ticket, routing_agent, routing_team

pytestmark = pytest.mark.browser


def test_escalate_acknowledge_and_de_escalate_in_the_browser(page, live_server, database, paths):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = queued_ticket(database, team_id=support)
    accept_as(database, *offer_of(database, ticket_id))
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))

    sign_in(page, live_server, f"/tickets/{ticket_id}", front.email, PASSWORD)
    panel = page.get_by_test_id("escalation-panel")
    expect(panel.locator("[aria-current=step]")).to_contain_text("frontline")
    page.select_option("#escalate-reason", "needs_expertise")
    page.fill("#escalate-note", "Tried the reset link twice")
    page.get_by_test_id("escalate").click()
    expect(page.get_by_test_id("escalation-pending")).to_contain_text("Awaiting pickup at tier2")
    expect(page.get_by_test_id("escalation-history")).to_contain_text("Tried the reset link twice")

    accept_as(database, *offer_of(database, ticket_id))
    page.context.clear_cookies()
    sign_in(page, live_server, f"/tickets/{ticket_id}", second.email, PASSWORD)
    page.get_by_test_id("acknowledge-escalation").click()
    expect(page.get_by_test_id("escalation-history")).to_contain_text("picked up by Second")
    expect(page.get_by_test_id("escalation-pending")).to_have_count(0)
    page.fill("#de-escalate-note", "Unlocked the account; please confirm with the customer")
    page.get_by_test_id("de-escalate").click()
    expect(page.locator("#timeline")).to_contain_text("De-escalated tier2 → frontline")

    page.context.clear_cookies()
    sign_in(page, live_server, f"/tickets/{ticket_id}", front.email, PASSWORD)
    expect(page.get_by_test_id("ticket-assignee")).to_have_text("Front")
    expect(page.locator("#timeline")).to_contain_text(
        "Unlocked the account; please confirm with the customer"
    )
