"""The ticket view in real Chromium: reply, note with an @mention, macro, priority, shortcuts, resolve."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate
from relaydesk.auth.roles import Role
from relaydesk.tickets.models import Message
from relaydesk.workspace.macros import Macro
from relaydesk.workspace.notifications import AgentNotification
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, make_ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(database) -> dict[str, int]:
    with database.transaction() as session:
        sam = agents.create_agent(
            session,
            AgentCreate(email="sam@example.com", name="Sam Rivera", password=PASSWORD, role=Role.LEAD),
        )
        kim = agents.create_agent(
            session, AgentCreate(email="kim@example.com", name="Kim Nguyen", password=PASSWORD)
        )
        session.add(Macro(name="Apology", body="Sorry {{ customer.name }}, {{ agent.first_name }} here."))
        ids = {"sam": sam.id, "kim": kim.id}
    ids["ticket"] = make_ticket(database, email="ada@example.com", body="My parcel never arrived")
    return ids


def test_an_agent_works_a_ticket_from_the_page(page, live_server, database, desk):
    ticket = desk["ticket"]
    sign_in(page, live_server, f"/tickets/{ticket}", "sam@example.com", PASSWORD)
    page.wait_for_url(f"{live_server}/tickets/{ticket}")
    expect(page.locator("main")).to_have_attribute("data-ticket-id", str(ticket))
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("My parcel never arrived")
    expect(timeline.get_by_test_id("author").first).to_have_text("ada@example.com")

    # Reply on the customer's channel.
    page.fill("#reply-body", "We are looking into it.")
    page.get_by_test_id("send-reply").click()
    reply = timeline.locator("li", has_text="We are looking into it.")
    expect(reply).to_be_visible()
    expect(reply.get_by_test_id("author")).to_have_text("Sam Rivera")

    # An internal note with an @mention: shown as a note, and Kim is notified.
    page.fill("#note-body", "@Kim Nguyen can you check the courier?")
    page.get_by_test_id("add-note").click()
    note = timeline.locator("li", has_text="can you check the courier?")
    expect(note.get_by_test_id("internal-note")).to_be_visible()

    # A macro fills the reply box with its placeholders rendered.
    page.get_by_test_id("apply-macro").click()
    expect(page.locator("#reply-body")).to_have_value("Sorry ada@example.com, Sam here.")

    # Priority.
    page.select_option("#prop-priority", "urgent")
    page.get_by_test_id("save-properties").click()
    expect(page.get_by_test_id("ticket-priority")).to_have_text("urgent")

    # Keyboard: "?" lists the shortcuts, Esc closes it, "a" assigns to me, "e" resolves.
    page.locator("h1").click()
    page.keyboard.press("?")
    overlay = page.get_by_test_id("shortcuts-overlay")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Resolve the ticket")
    expect(overlay).to_contain_text("Assign the ticket to me")
    page.keyboard.press("Escape")
    expect(overlay).to_have_count(0)
    # Typing in a field is not a shortcut.
    page.locator("#note-body").press("a")
    expect(page.get_by_test_id("ticket-assignee")).to_have_text("nobody")
    page.locator("#note-body").press("Escape")
    page.keyboard.press("a")
    expect(page.get_by_test_id("ticket-assignee")).to_have_text("Sam Rivera")
    page.keyboard.press("e")
    expect(page.get_by_test_id("ticket-status")).to_have_text("resolved")

    with database.transaction(read_only=True) as session:
        note_row = session.scalars(select(Message).where(Message.body_text.contains("courier"))).one()
        assert not note_row.public
        mentioned = session.scalars(select(AgentNotification.agent_id)).all()
        assert mentioned == [desk["kim"]]
