"""The contact form in real Chromium: reached from /help/contact, sent, answered by a ticket number."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket

pytestmark = pytest.mark.browser


def test_visitor_sends_the_contact_form_and_gets_a_ticket_number(page, live_server, database):
    page.goto(f"{live_server}/help/contact")
    assert page.url.endswith("/help/en/contact")
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Your question").fill("My parcel never came.")
    page.get_by_test_id("contact-submit").click()
    expect(page.get_by_test_id("contact-sent")).to_contain_text("answer you by email")
    with database.transaction(read_only=True) as session:
        (ticket,) = session.scalars(select(Ticket)).all()
    assert ticket.channel is Channel.WEB_FORM
    expect(page.get_by_test_id("contact-sent")).to_contain_text(f"ticket #{ticket.id}")
