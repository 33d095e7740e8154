"""The widget's waiting notice in real Chromium: a visitor waiting in the live queue sees their place, and
it moves as soon as a ticket ahead of them is taken (pushed over the widget's socket, not polled)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, QueueKind
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import TicketUpdate
from relaydesk.triage import service as triage
from tests.browser_fixtures import wait_for_jobs
from tests.routing.conftest import SYSTEM, queued_ticket, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("policy")]


def test_a_waiting_visitor_sees_their_place_move_when_a_ticket_ahead_is_taken(
    live_server, page, database, demo_site
):
    bob = routing_agent(database, "Bob", online=False)  # nobody online: the live queue waits
    ahead = queued_ticket(database, channel=Channel.WEB_CHAT)
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("I would like to talk to a person please")
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")

    # No trained model in the test database: the chat is released to routing as a person triaging it would.
    wait_for_jobs(database, {"triage.process_inbound", "triage.triage_ticket", "routing.route_ticket"})
    with database.transaction() as session:
        mine = session.scalars(select(Ticket).where(Ticket.id != ahead)).one()
        mine_id = mine.id
        if routing.queue_position(session, mine_id) is None:
            tickets.update_ticket(
                session,
                mine,
                TicketUpdate(category="order_status", reason="triaged by a person"),
                Actor(AuthorKind.AGENT, bob.agent_id),
            )
            triage.record_category_correction(session, mine)
    wait_for_jobs(database, {"routing.route_ticket"})
    with database.transaction() as session:
        assert [w.ticket_id for w in routing.waiting_tickets(session, QueueKind.LIVE, 10)] == [ahead, mine_id]

    waiting = page.get_by_test_id("chat-waiting")
    expect(waiting).to_contain_text("You are number 2 in the queue", timeout=5000)
    expect(waiting).to_contain_text("You may leave")

    with database.transaction() as session:  # a supervisor gives the ticket ahead to Bob
        routing.reassign(session, tickets.get_ticket(session, ahead), bob.agent_id, SYSTEM)
    # Well within the widget's old 10 s re-read: the move is pushed.
    expect(waiting).to_contain_text("You are number 1 in the queue", timeout=3000)

    with database.transaction() as session:  # and Bob takes this one too: no queue notice any more
        routing.reassign(session, tickets.get_ticket(session, mine_id), bob.agent_id, SYSTEM)
    expect(waiting).to_be_hidden(timeout=3000)
