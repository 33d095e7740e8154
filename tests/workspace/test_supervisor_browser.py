"""The supervisor view in real Chromium: a lead gives a waiting ticket to an agent from the queue's list,
and puts another back in the queue; the list refreshes by itself, but not under a choice being made."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from relaydesk.auth.roles import Role
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD
from tests.routing.conftest import offer_of, queued_ticket, reload_ticket, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("policy")]


def test_a_lead_moves_waiting_tickets_from_the_list(page, live_server, database):
    lead = routing_agent(database, "Lee", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    first = queued_ticket(database)
    bob = routing_agent(database, "Bob")
    sign_in(page, live_server, "/supervisor", lead.email, PASSWORD)
    page.wait_for_url(f"{live_server}/supervisor")
    messaging = page.get_by_test_id("waiting-messaging")
    row = messaging.locator(f'[data-waiting-ticket="{first}"]')
    expect(row.locator(".offered-to")).to_have_text("Ann")

    # While the lead picks an agent in a row, the panel's refresh holds (a new ticket shows later).
    row.locator("select").focus()
    second = queued_ticket(database)
    page.wait_for_timeout(5500)
    expect(messaging.locator(f'[data-waiting-ticket="{second}"]')).to_have_count(0)
    row.locator("select").select_option(str(bob.agent_id))
    row.locator('[data-action="reassign"]').click()
    expect(page.get_by_test_id("supervisor-message")).to_have_text(f"Ticket {first} is now Bob's.")
    assert reload_ticket(database, first).assignee_id == bob.agent_id
    expect(messaging.locator(f'[data-waiting-ticket="{first}"]')).to_have_count(0)

    other = messaging.locator(f'[data-waiting-ticket="{second}"]')
    offered_to = offer_of(database, second)[1]
    other.locator('[data-action="requeue"]').click()
    expect(page.get_by_test_id("supervisor-message")).to_contain_text(
        f"Ticket {second} is back in the messaging queue"
    )
    now = offer_of(database, second)
    assert now is not None and now[1] != offered_to and now[1] in (ann.agent_id, bob.agent_id)
