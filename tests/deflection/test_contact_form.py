"""The help-center contact form: suggestions before submit, a ticket through intake on submit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.models import SuggestionSession
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket
from tests.factories import run_jobs


def form_tokens(html):
    return re.search(r'name="submission_id" value="([^"]+)"', html).group(1)


def test_contact_page_offers_suggestions_while_typing(client, database):
    page = client.get("/help/en/contact")
    assert page.status_code == 200
    assert "data-deflection-form" in page.text and "/static/deflection/suggest.js" in page.text
    assert client.get("/static/deflection/suggest.js").status_code == 200


def test_submitting_opens_a_web_form_ticket_and_escalates_the_session(client, database, articles):
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
    run_jobs(database)
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
    from relaydesk.tickets.models import Message
    from tests.factories import make_team, make_ticket

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
