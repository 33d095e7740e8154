"""The chat widget in real Chromium on the demo shop page, against the real server and its worker."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from relaydesk.tickets.models import Ticket
from tests.factories import make_agent

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


def test_visitor_chats_gets_a_live_agent_reply_and_keeps_the_conversation_after_reload(
    live_server, page, database, demo_site
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

    # Live, through the outbox job and the hub: no reload needed. The in-process worker runs the
    # jobs of the visitor's message first (triage may load its models), hence the patient timeout.
    agent_message = page.locator("[data-testid=chat-message][data-author=agent]")
    expect(agent_message).to_contain_text("Sorry! They ship today.", timeout=30_000)
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "read")
    expect(page.get_by_test_id("chat-typing")).to_have_text("")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat-widget.png"))

    page.reload()
    page.get_by_test_id("chat-launcher").click()
    messages = page.get_by_test_id("chat-message")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_have_text("Hi, my trail boots have not arrived yet")
    expect(messages.nth(1)).to_contain_text("Sorry! They ship today.")


def test_widget_falls_back_to_rest_and_polling_when_the_websocket_cannot_connect(
    live_server, page, database, demo_site
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
        "Yes, which address?", timeout=30_000
    )


def test_signed_in_customer_on_the_demo_page_writes_as_the_known_customer(
    live_server, page, database, demo_site
):
    page.goto(f"{live_server}/chat/demo?signed_in=true")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("Hello from my account")
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        from relaydesk.customers.enums import IdentityKind
        from relaydesk.customers.models import CustomerIdentity

        identity = session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == IdentityKind.EXTERNAL_ID)
        ).one()
        assert identity.value == "northwind-demo:customer-1001" and identity.verified
        assert ticket.customer_id == identity.customer_id


@pytest.fixture
def help_articles(database):
    """Two published articles through the knowledge service, so the suggestions the widget shows are real."""
    from relaydesk.knowledge import service as knowledge
    from relaydesk.knowledge.enums import ArticleStatus
    from relaydesk.knowledge.schemas import ArticleCreate

    with database.transaction() as session:
        for title, body in (
            (
                "Reset your password",
                "If you forgot your password, open the sign-in page and choose 'Forgot password'. We email "
                "you a link to choose a new password. The link is valid for one hour.",
            ),
            (
                "Return an item for a refund",
                "You can return any item within 30 days. Print the free return label from 'My orders' and "
                "drop the parcel at a post office. We refund you within 5 days of receiving it.",
            ),
        ):
            knowledge.create_article(
                session,
                ArticleCreate(title=title, body=body, status=ArticleStatus.PUBLISHED),
                knowledge.Editor(label="tests"),
            )


def _suggestion_sessions(database):
    from relaydesk.deflection.models import SuggestionSession

    with database.transaction(read_only=True) as session:
        return [(row.visitor_id, row.outcome.value) for row in session.scalars(select(SuggestionSession))]


def test_suggestions_while_typing_and_solved_sends_nothing(
    live_server, page, database, demo_site, help_articles
):
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").press_sequentially("I forgot my password", delay=20)
    suggestion = page.get_by_test_id("suggestion").first
    # The first search of a fresh database builds its index (embeddings): slow on a loaded machine.
    expect(suggestion).to_contain_text("Reset your password", timeout=60_000)
    suggestion.get_by_test_id("suggestion-solved").click()
    expect(page.get_by_test_id("suggestion-thanks")).to_be_visible()
    expect(page.get_by_test_id("suggestion")).to_have_count(0)
    visitor_id = page.evaluate(
        "() => JSON.parse(localStorage.getItem('relaydesk:northwind-demo:visitor:token')).split('.')[0]"
    )
    sessions = _suggestion_sessions(database)
    assert [s[0] for s in sessions] == [visitor_id]
    with database.transaction(read_only=True) as session:
        assert session.scalars(select(Ticket)).all() == []  # solved: no ticket


def test_not_helpful_then_writing_links_the_suggestions_to_the_ticket(
    live_server, page, database, demo_site, help_articles
):
    from relaydesk.customers.enums import IdentityKind
    from relaydesk.customers.models import CustomerIdentity

    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").press_sequentially("How do I return an item for a refund?", delay=20)
    expect(page.get_by_test_id("suggestion").first).to_be_visible(timeout=60_000)
    before = page.get_by_test_id("suggestion").count()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat-suggestions.png"))
    page.get_by_test_id("suggestion-not-helpful").first.click()
    expect(page.get_by_test_id("suggestion")).to_have_count(before - 1)
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")
    expect(page.get_by_test_id("suggestions")).to_be_hidden()
    [(visitor_id, _outcome)] = _suggestion_sessions(database)
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        identity = session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == IdentityKind.CHAT_VISITOR)
        ).one()
        # The contract with deflection: the session's visitor id is the ticket customer's chat identity.
        assert identity.value == visitor_id and identity.customer_id == ticket.customer_id


def test_a_message_whose_answer_was_lost_is_resent_and_stored_once(live_server, page, database, demo_site):
    from relaydesk.tickets.models import Message

    page.add_init_script("window.WebSocket = function () { throw new Error('no sockets here'); };")
    lost = []

    def lose_first_answer(route):
        if not lost and route.request.method == "POST":
            route.fetch()  # the server stores the message ...
            lost.append(True)
            route.abort("connectionreset")  # ... and the answer never reaches the browser
        else:
            route.continue_()

    page.route(re.compile(r".*/chat/v1/messages$"), lose_first_answer)
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("Is this thing on?")
    page.get_by_test_id("chat-send").click()
    # The next poll resends it with the same client id; the server answers with the stored message.
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered", timeout=15_000)
    assert lost == [True]
    with database.transaction(read_only=True) as session:
        assert [m.body_text for m in session.scalars(select(Message))] == ["Is this thing on?"]


def test_what_the_visitor_typed_while_the_conversation_loaded_still_gets_suggestions(
    live_server, page, database, demo_site, help_articles
):
    held = []
    loading = re.compile(r".*/chat/v1/conversation$")
    page.route(loading, lambda route: held.append(route))  # the first load answers late
    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").press_sequentially("I forgot my password", delay=20)
    page.wait_for_timeout(800)  # past the debounce: with no visitor id yet there was nothing to ask
    expect(page.get_by_test_id("suggestion")).to_have_count(0)
    assert len(held) == 1
    held[0].continue_()
    page.unroute(loading)
    suggestion = page.get_by_test_id("suggestion").first
    expect(suggestion).to_contain_text("Reset your password", timeout=60_000)


def test_an_anonymous_visitor_is_asked_for_a_name_once_a_person_must_answer(
    live_server, page, database, demo_site
):
    from relaydesk.customers.models import Customer
    from relaydesk.jobs.models import Job, JobState
    from relaydesk.tickets import service as tickets
    from relaydesk.tickets.enums import AuthorKind, TicketStatus
    from relaydesk.tickets.schemas import StatusChange

    page.goto(f"{live_server}/chat/demo")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("I need to talk to a person about my order")
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-state")).to_have_attribute("data-state", "delivered")
    expect(page.get_by_test_id("chat-contact")).to_be_hidden()

    # Triage queues the ticket for a person once the message's own job ran (the demo has no trained
    # model, so it is ready for routing as it is); if it did not, the test queues it as routing would.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.transaction(read_only=True) as session:
            waiting = session.scalars(
                select(Job).where(Job.name == "triage.process_inbound", Job.state != JobState.DONE)
            ).all()
        if not waiting:
            break
        time.sleep(0.1)
    with database.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        if ticket.status is not TicketStatus.QUEUED:
            tickets.change_status(
                session, ticket, StatusChange(status=TicketStatus.QUEUED), tickets.Actor(AuthorKind.SYSTEM)
            )
        customer_id = ticket.customer_id

    form = page.get_by_test_id("chat-contact")
    expect(form).to_be_visible(timeout=20_000)
    page.get_by_test_id("chat-contact-email").fill("not an address")
    page.get_by_test_id("chat-contact-save").click()
    expect(page.get_by_test_id("chat-contact-error")).to_contain_text("not an email address")
    page.get_by_test_id("chat-contact-name").fill("Zoe Park")
    page.get_by_test_id("chat-contact-email").fill("zoe@example.com")
    page.get_by_test_id("chat-contact-save").click()
    expect(form).to_be_hidden()
    with database.transaction(read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None and customer.name == "Zoe Park"
    page.reload()  # answered once: not asked again on this device
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-message")).to_have_count(1)
    expect(form).to_be_hidden()
