"""The pending-offers panel in real Chromium: it appears by itself, counts down, Accept opens the ticket,
Decline takes a reason. (An offer gone meanwhile answers 409: tests/workspace/test_offers.py. Its display in
the panel after the merge with the live socket is an open defect, see the stop note.)"""

from __future__ import annotations

import re

import pytest

from relaydesk.tickets.enums import Channel
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, events_of_kind
from tests.routing.conftest import policy as policy  # the routing policy fixture
from tests.routing.conftest import queued_ticket, reload_ticket, routing_agent

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("policy")]


def test_an_agent_accepts_declines_and_meets_a_gone_offer(page, live_server, database):
    ann = routing_agent(database, "Ann")
    first = queued_ticket(database, channel=Channel.WEB_CHAT)
    sign_in(page, live_server, "/tickets", ann.email, PASSWORD)
    page.wait_for_url(f"{live_server}/tickets")

    card = page.locator(f'#offers [data-ticket-id="{first}"]')
    card.wait_for(timeout=5000)
    countdown = card.locator(".countdown")
    start = int(re.match(r"(\d+) s left", countdown.inner_text()).group(1))
    page.wait_for_timeout(2200)
    assert int(re.match(r"(\d+) s left", countdown.inner_text()).group(1)) < start
    card.locator('[data-action="accept-offer"]').click()
    page.wait_for_url(f"{live_server}/tickets/{first}")
    assert reload_ticket(database, first).assignee_id == ann.agent_id

    second = queued_ticket(database)  # arrives through the poll, no reload
    card = page.locator(f'#offers [data-ticket-id="{second}"]')
    card.wait_for(timeout=6000)
    card.locator('input[name="reason"]').fill("on a call")
    card.locator('[data-action="decline-offer"]').click()
    page.locator('#offers [data-testid="offers-message"]', has_text="Declined").wait_for(timeout=5000)
    assert [e.data["reason"] for e in events_of_kind(database, "routing.declined")] == ["on a call"]
