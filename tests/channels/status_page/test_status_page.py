"""The customer's status page: a signed link in every update, the ticket's state and public
conversation, and a reply that goes through intake."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

from sqlalchemy import func, select

from relaydesk.agents.models import Agent
from relaydesk.channels.models import QuarantinedInput
from relaydesk.channels.status_page.endpoints import CSRF_COOKIE
from relaydesk.channels.status_page.links import status_url
from relaydesk.channels.status_page.view import STATE_WORDS
from relaydesk.tickets.enums import Channel, TicketStatus
from relaydesk.tickets.models import Message, Ticket
from tests.channels.conftest import BASE_URL, reply_text, send_sms
from tests.channels.email.conftest import run_email_jobs
from tests.factories import make_agent, make_ticket, run_jobs

_LINK = re.compile(r"https?://[^\s\"<>]+/status/[A-Za-z0-9_.\-]+")


def _agent_reply(client, database, ticket_id: int, body: str, *, public: bool = True, name: str = "") -> int:
    agent = make_agent(database)
    if name:
        with database.transaction() as session:
            session.get(Agent, agent.agent_id).name = name  # type: ignore[union-attr]
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"body": body, "public": public}, headers=agent.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _url_path(url: str) -> str:
    return urlparse(url).path


def _form(html: str) -> dict[str, str]:
    return {
        name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        for name in ("csrf_token", "submission_id")
    }


def _status_path(database, ticket_id: int) -> str:
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return _url_path(status_url(ticket.id, ticket.customer_id))


def test_an_emailed_update_links_to_the_ticket_s_status_page(client, database, smtp_sink):
    ticket_id = make_ticket(database, email="ann@example.com", body="Where is my parcel?")
    _agent_reply(client, database, ticket_id, "It ships today.", name="Dana Whitfield")
    run_email_jobs(database)
    [mail] = smtp_sink.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert text.startswith("It ships today.")
    [link] = _LINK.findall(text)
    assert f'<a href="{link}"' in html

    page = client.get(_url_path(link))
    assert page.status_code == 200
    assert "Where is my parcel?" in page.text and "It ships today." in page.text
    # Agents by first name only; the state in words, not its internal name.
    assert "Dana" in page.text and "Whitfield" not in page.text
    with database.transaction(read_only=True) as session:
        status = session.get(Ticket, ticket_id).status  # type: ignore[union-attr]
    label, words = STATE_WORDS[status]
    assert label in page.text and words in page.text


def test_an_internal_note_never_shows_on_the_status_page(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    _agent_reply(client, database, ticket_id, "Customer is on the fraud watch list", public=False)
    page = client.get(_status_path(database, ticket_id))
    assert page.status_code == 200
    assert "fraud watch list" not in page.text


def test_the_state_reads_in_plain_words(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    with database.transaction() as session:
        session.get(Ticket, ticket_id).status = TicketStatus.PENDING_CUSTOMER  # type: ignore[union-attr]
    page = client.get(_status_path(database, ticket_id))
    assert "Waiting for you" in page.text and "pending_customer" not in page.text


def test_a_reply_from_the_page_lands_on_the_ticket_once_through_intake(client, database):
    ticket_id = make_ticket(database, email="ann@example.com", body="Where is my parcel?")
    path = _status_path(database, ticket_id)
    form = _form(client.get(path).text)
    sent = client.post(path, data={**form, "reply": "  It arrived broken.  "}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"{path}?sent=1")
    again = client.post(path, data={**form, "reply": "It arrived broken."}, follow_redirects=False)
    assert again.status_code == 303  # a double click stores one message
    with database.transaction(read_only=True) as session:
        messages = session.scalars(select(Message).where(Message.ticket_id == ticket_id)).all()
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert [m.body_text for m in messages] == ["Where is my parcel?", "It arrived broken."]
    reply = messages[1]
    # It continues the conversation on the ticket's channel, to the address answered before.
    assert reply.channel is Channel.EMAIL and reply.meta["via"] == "status_page"
    assert reply.meta["from"] == "ann@example.com"
    assert "It arrived broken." in client.get(sent.headers["location"]).text
    run_jobs(database)  # the inbound job runs for it as for any customer message


def test_a_reply_without_the_page_s_csrf_value_is_refused_and_kept(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    path = _status_path(database, ticket_id)
    form = _form(client.get(path).text)
    forged = client.post(path, data={**form, "csrf_token": "x" * 32, "reply": "Send it to my new address"})
    assert forged.status_code == 403 and "Send it to my new address" in forged.text
    client.cookies.delete(CSRF_COOKIE)
    no_cookie = client.post(path, data={**form, "reply": "Send it to my new address"})
    assert no_cookie.status_code == 403
    empty = client.post(path, data={**_form(client.get(path).text), "reply": "   "})
    assert empty.status_code == 422 and "write your reply" in empty.text
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_tampered_link_answers_a_friendly_page_and_a_reply_with_it_is_quarantined(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    path = _status_path(database, ticket_id)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    page = client.get(tampered)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "This link does not work" in page.text
    form = {"reply": "Hello?", "csrf_token": "x" * 32, "submission_id": "y" * 20}
    posted = client.post(tampered, data=form)
    assert posted.status_code == 404
    with database.transaction(read_only=True) as session:
        [held] = session.scalars(select(QuarantinedInput)).all()
        assert held.reason_code == "invalid_status_link" and held.raw == b"Hello?"
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_link_expires_after_the_configured_days(client, database, clock, monkeypatch):
    from relaydesk.settings import reset_settings_cache

    monkeypatch.setenv("RELAYDESK_STATUS_LINK_MAX_AGE_DAYS", "30")
    reset_settings_cache()
    ticket_id = make_ticket(database, email="ann@example.com")
    path = _status_path(database, ticket_id)
    clock.advance(timedelta(days=29))
    assert client.get(path).status_code == 200
    clock.advance(timedelta(days=2))
    expired = client.get(path)
    assert expired.status_code == 410 and "This link has expired" in expired.text


def test_a_link_to_a_ticket_that_moved_to_another_customer_shows_nothing(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    other = make_ticket(database, email="bob@example.com")
    path = _status_path(database, ticket_id)
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.customer_id = session.get(Ticket, other).customer_id  # type: ignore[union-attr]
    assert client.get(path).status_code == 404


def test_a_closed_ticket_shows_no_reply_form_and_takes_no_reply(client, database):
    ticket_id = make_ticket(database, email="ann@example.com")
    path = _status_path(database, ticket_id)
    form = _form(client.get(path).text)
    with database.transaction() as session:
        session.get(Ticket, ticket_id).status = TicketStatus.CLOSED  # type: ignore[union-attr]
    page = client.get(path)
    assert "This request is closed" in page.text and 'data-testid="reply-form"' not in page.text
    refused = client.post(path, data={**form, "reply": "One more thing"})
    assert refused.status_code == 409
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_an_sms_update_carries_a_short_status_line_and_a_chat_reply_none(client, database, provider):
    assert send_sms(client).status_code == 200
    with database.transaction(read_only=True) as session:
        sms_ticket = session.scalar(select(Ticket.id))
    _agent_reply(client, database, sms_ticket, "It ships tomorrow.")
    chat_ticket = make_ticket(database, email="visitor@example.com", channel=Channel.WEB_CHAT)
    _agent_reply(client, database, chat_ticket, "Happy to help.")
    run_jobs(database)
    [sms] = provider.received
    assert reply_text(sms["form"]["Body"]) == "It ships tomorrow."
    [link] = _LINK.findall(sms["form"]["Body"])
    assert link.startswith(f"{BASE_URL}/status/")
    assert client.get(_url_path(link)).status_code == 200
    with database.transaction(read_only=True) as session:
        chat_reply = session.scalar(select(Message).where(Message.body_text.like("Happy to help.%")))
    assert chat_reply is not None and chat_reply.body_text == "Happy to help."
