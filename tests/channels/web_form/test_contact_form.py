"""The help-center contact form (channels.web_form): suggestions before submit, a ticket through intake
on submit, the suggestion session linked by deflection's inbound step, and replies by email."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from relaydesk.channels.email.tokens import verify_reply_token
from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.models import SuggestionSession
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel, DeliveryState
from relaydesk.tickets.models import Message, Ticket
from tests.channels.email.conftest import build_email, run_email_jobs
from tests.channels.email.test_smtp import send_by_smtp
from tests.factories import make_agent, make_team, make_ticket, run_jobs


def form_tokens(html):
    return re.search(r'name="submission_id" value="([^"]+)"', html).group(1)


def test_contact_page_offers_suggestions_while_typing(client, database):
    page = client.get("/help/en/contact")
    assert page.status_code == 200
    assert "data-deflection-form" in page.text and "/static/deflection/suggest.js" in page.text
    assert client.get("/static/deflection/suggest.js").status_code == 200


def test_submitting_opens_a_web_form_ticket_and_escalates_the_session(client, database):
    session_id = client.post(
        "/api/v1/public/suggestions", json={"query": "where is my parcel", "channel": "web_form"}
    ).json()["session_id"]
    token = form_tokens(client.get("/help/en/contact").text)
    form = {
        "name": "Ann",
        "email": "Ann@Example.com",
        "subject": "Parcel",
        "question": "Where is my parcel? Order 1234.",
        "session_id": session_id,
        "submission_id": token,
    }
    sent = client.post("/help/en/contact", data=form)
    assert sent.status_code == 200 and "ticket #" in sent.text
    again = client.post("/help/en/contact", data=form)  # a double click or a browser retry
    assert again.status_code == 200
    run_jobs(database)  # deflection's inbound step links the session the form named
    with database.transaction(read_only=True) as session:
        (ticket,) = session.scalars(select(Ticket)).all()
        assert ticket.channel is Channel.WEB_FORM and ticket.subject == "Parcel"
        row = session.scalar(select(SuggestionSession).where(SuggestionSession.public_id == session_id))
        assert row.outcome is SessionOutcome.ESCALATED and row.ticket_id == ticket.id
        assert row.customer_id == ticket.customer_id


def test_contact_form_mistakes_are_shown_and_nothing_is_created(client, database):
    token = form_tokens(client.get("/help/en/contact").text)
    bad = client.post(
        "/help/en/contact", data={"email": "not-an-address", "question": "Help", "submission_id": token}
    )
    assert bad.status_code == 422 and "email address" in bad.text
    assert 'value="not-an-address"' in bad.text  # what they typed is kept
    empty = client.post(
        "/help/en/contact", data={"email": "a@example.com", "question": "   ", "submission_id": token}
    )
    assert empty.status_code == 422
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_contact_form_lives_under_each_help_center_locale(client, database):
    assert client.get("/help/de/contact").status_code == 200
    assert 'data-locale="de"' in client.get("/help/de/contact").text
    assert client.get("/help/not a locale!/contact").status_code == 404


def test_contact_form_with_someone_elses_email_opens_a_new_ticket(client, database):
    legal = make_team(database, "Legal", restricted=True)
    victim = make_ticket(database, team_id=legal, email="victim@example.com", body="Private matter")
    token = form_tokens(client.get("/help/en/contact").text)
    form = {"email": "Victim@example.com", "question": "Add this to my case", "submission_id": token}
    sent = client.post("/help/en/contact", data=form)
    assert sent.status_code == 200
    assert f"#{victim}" not in sent.text
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, victim)
        assert [m.body_text for m in ticket.messages] == ["Private matter"]
        assert ticket.reply_channel is Channel.EMAIL
        new = session.scalar(select(Ticket).where(Ticket.id != victim))
        assert new.channel is Channel.WEB_FORM and new.team_id is None
        assert (
            session.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == new.id)) == 1
        )


def test_help_contact_leads_to_the_english_form(client, database):
    response = client.get("/help/contact", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/help/en/contact"


def submit(client, **fields: str):
    token = form_tokens(client.get("/help/en/contact").text)
    return client.post("/help/en/contact", data={"submission_id": token, **fields})


def test_agent_reply_is_emailed_to_the_address_given_and_the_answer_threads_back(
    client, database, smtp_server, smtp_sink
):
    sent = submit(client, email="Ann@Example.com", subject="Parcel", question="Where is my parcel?")
    assert sent.status_code == 200
    with database.transaction(read_only=True) as session:
        (ticket,) = session.scalars(select(Ticket)).all()
    agent = make_agent(database)
    reply = client.post(
        f"/api/v1/tickets/{ticket.id}/messages", json={"body": "It ships today."}, headers=agent.headers
    )
    assert reply.status_code == 201, reply.text
    run_email_jobs(database)

    [mail] = smtp_sink.wait_for(1)
    assert mail.recipients == ["ann@example.com"]
    mime = mail.message
    assert mime["Subject"] == "Re: Parcel"
    assert "It ships today." in mime.get_body(("plain",)).get_content()
    reply_to = mime["Reply-To"].addresses[0]
    assert verify_reply_token(reply_to.username.split("+", 1)[1], get_settings().secret) == ticket.id
    with database.transaction(read_only=True) as session:
        delivery = session.scalar(select(Delivery).where(Delivery.message_id == reply.json()["id"]))
        assert delivery.status is DeliveryStatus.SENT and delivery.recipient == "ann@example.com"
        assert session.get(Message, reply.json()["id"]).delivery_state is DeliveryState.SENT

    # The customer answers the email: it joins the contact-form ticket by the signed Reply-To.
    answer = build_email(
        sender="Ann <ann@example.com>",
        subject="Re: Parcel",
        body="Thank you!",
        message_id="<answer-1@mail.example.com>",
        to=str(mime["Reply-To"]),
        In_Reply_To=mime["Message-ID"],
    )
    send_by_smtp(smtp_server, answer)
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        texts = [m.body_text for m in session.scalars(select(Message).where(Message.ticket_id == ticket.id))]
    assert texts == ["Where is my parcel?", "It ships today.", "Thank you!"]
