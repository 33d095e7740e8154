"""The status page in real Chromium: the customer opens the link from an update, reads the
conversation and replies from the page."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.channels.status_page.links import status_url
from relaydesk.tickets.models import Message, Ticket
from tests.factories import make_ticket

pytestmark = pytest.mark.browser


def test_customer_reads_the_conversation_and_replies_from_the_status_page(page, live_server, database):
    ticket_id = make_ticket(database, email="zoe@example.com", body="My parcel never came.")
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        path = urlparse(status_url(ticket.id, ticket.customer_id)).path
    page.goto(f"{live_server}{path}")
    expect(page.get_by_test_id("status-state")).to_contain_text("Received")
    expect(page.get_by_test_id("conversation")).to_contain_text("My parcel never came.")
    page.get_by_label("Your reply").fill("It is order 1234.")
    page.get_by_test_id("reply-submit").click()
    expect(page.get_by_test_id("reply-sent")).to_be_visible()
    expect(page.get_by_test_id("entry-text").last).to_have_text("It is order 1234.")
    expect(page.get_by_test_id("entry-author").last).to_have_text("You")
    with database.transaction(read_only=True) as session:
        texts = session.scalars(select(Message.body_text).where(Message.ticket_id == ticket_id)).all()
    assert list(texts) == ["My parcel never came.", "It is order 1234."]
