"""A refused action's message stays on screen in real Chromium while the page's live parts refresh around it
(the offers panel's poll, the badge and panel refreshes that a live event sets off): only the agent's next
action, or Dismiss, takes it away."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Priority
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import TicketUpdate
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, make_ticket
from tests.routing.conftest import policy as policy  # the routing policy fixture
from tests.routing.conftest import queued_ticket, routing_agent

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("policy")]


def test_a_refused_action_outlives_the_live_refreshes_of_the_page(page, live_server, database):
    sam = routing_agent(database, "Sam")
    ticket = make_ticket(database, email="ada@example.com", body="My parcel never arrived")
    sign_in(page, live_server, f"/tickets/{ticket}", sam.email, PASSWORD)
    page.wait_for_url(f"{live_server}/tickets/{ticket}")

    with database.transaction() as session:  # meanwhile someone else changes the ticket
        found = tickets.get_ticket(session, ticket)
        tickets.update_ticket(session, found, TicketUpdate(priority=Priority.HIGH), Actor(AuthorKind.SYSTEM))
    page.get_by_test_id("assign-me").click()
    flash = page.locator('#flash [data-testid="flash"]')
    expect(flash).to_have_attribute("data-status", "409")

    # A ticket offered to Sam now: the live event redraws the offers panel and the notifications badge.
    offered = queued_ticket(database)
    page.locator(f'#offers [data-ticket-id="{offered}"]').wait_for(timeout=6000)
    with page.expect_response(lambda response: response.url.endswith("/workspace/offers")):
        pass  # and one poll more
    page.wait_for_timeout(300)
    assert flash.count() == 1
    assert flash.get_attribute("data-status") == "409"

    flash.locator("[data-dismiss-flash]").click()
    expect(flash).to_have_count(0)
