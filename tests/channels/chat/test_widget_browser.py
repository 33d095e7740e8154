"""The chat widget in real Chromium on the demo shop page, against the real server and its worker."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.channels.chat import service
from relaydesk.channels.chat.pages import ensure_demo_site
from relaydesk.tickets.models import Ticket
from tests.factories import make_agent

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_site(database):
    service.forget_cached_sites()
    with database.transaction() as session:
        ensure_demo_site(session)
    yield
    service.forget_cached_sites()


def test_visitor_chats_gets_a_live_agent_reply_and_keeps_the_conversation_after_reload(
    page, live_server, database, demo_site
):
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    page.get_by_test_id("chat-input").fill("Hi, my trail boots have not arrived yet")
    page.get_by_test_id("chat-send").click()
    visitor_message = page.locator("[data-testid=chat-message][data-author=visitor]")
    expect(visitor_message).to_have_text("Hi, my trail boots have not arrived yet")
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")

    with database.transaction(read_only=True) as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
    agent = make_agent(database)
    with httpx.Client(base_url=live_server, headers=agent.headers, timeout=10) as api:
        assert api.post(f"/api/v1/tickets/{ticket_id}/typing", json={"typing": True}).status_code == 202
        expect(page.get_by_test_id("chat-typing")).to_have_text("Agent is typing…")
        reply = api.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            json={"body": "Sorry! They ship today.", "channel": "web_chat"},
        )
        assert reply.status_code == 201

    # Live, through the outbox job and the hub: no reload needed.
    agent_message = page.locator("[data-testid=chat-message][data-author=agent]")
    expect(agent_message).to_contain_text("Sorry! They ship today.")
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "read")
    expect(page.get_by_test_id("chat-typing")).to_have_text("")

    page.reload()
    page.get_by_test_id("chat-launcher").click()
    messages = page.get_by_test_id("chat-message")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_have_text("Hi, my trail boots have not arrived yet")
    expect(messages.nth(1)).to_contain_text("Sorry! They ship today.")


def test_widget_falls_back_to_rest_and_polling_when_the_websocket_cannot_connect(
    page, live_server, database, demo_site
):
    page.route(re.compile(r".*/chat/v1/ws.*"), lambda route: route.abort())
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked by a proxy'); };")
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("Can I change my delivery address?")
    page.get_by_test_id("chat-input").press("Enter")
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")
    with database.transaction(read_only=True) as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
    agent = make_agent(database)
    with httpx.Client(base_url=live_server, headers=agent.headers, timeout=10) as api:
        api.post(f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Yes, which address?"})
    # Polling picks the reply up within a few seconds.
    expect(page.locator("[data-testid=chat-message][data-author=agent]")).to_contain_text(
        "Yes, which address?", timeout=10_000
    )


def test_signed_in_customer_on_the_demo_page_writes_as_the_known_customer(
    page, live_server, database, demo_site
):
    page.goto(f"{live_server}/chat/demo?user=customer-1001")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("Hello from my account")
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        from relaydesk.customers.models import CustomerIdentity, IdentityKind

        identity = session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == IdentityKind.EXTERNAL_ID)
        ).one()
        assert identity.value == "northwind-demo:customer-1001" and identity.verified
        assert ticket.customer_id == identity.customer_id
