"""The pending-offers panel in real Chromium: it appears by itself, counts down, Accept opens the ticket,
Decline takes a reason, and an offer gone meanwhile shows the 409's reason in the panel, where the live
refresh that the reassignment sets off does not wipe it."""

from __future__ import annotations

import re

import pytest

from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.tickets.events import Actor
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, events_of_kind
from tests.routing.conftest import offer_of, queued_ticket, reload_ticket, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

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

    third = queued_ticket(database)
    card = page.locator(f'#offers [data-ticket-id="{third}"]')
    card.wait_for(timeout=6000)
    card.locator('input[name="reason"]').click()  # typing: the poll leaves the panel alone
    bob = routing_agent(database, "Bob", online=False)
    with database.transaction() as session:  # meanwhile a supervisor gives it to Bob
        routing.reassign(session, tickets.get_ticket(session, third), bob.agent_id, Actor(AuthorKind.SYSTEM))
    page.wait_for_timeout(3500)
    assert card.count() == 1
    card.locator('[data-action="accept-offer"]').click()
    message = page.locator('#offers [data-testid="offers-message"]')
    message.wait_for(timeout=5000)
    assert "no longer open" in message.inner_text()
    with page.expect_response(lambda response: response.url.endswith("/workspace/offers")):
        pass  # the next poll redraws the panel: the message stays
    page.wait_for_timeout(300)
    assert "no longer open" in message.inner_text()
    assert page.url == f"{live_server}/tickets/{first}"
    with database.transaction() as session:
        assert tickets.get_ticket(session, third).assignee_id == bob.agent_id
    assert offer_of(database, third) is None
