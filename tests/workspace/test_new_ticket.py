"""/tickets/new: an agent files a ticket from the page, triaged like any other."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.jobs.models import Job
from relaydesk.tickets.enums import Channel, Priority
from relaydesk.tickets.models import Ticket
from tests.factories import count, make_team, make_ticket


def test_the_page_is_a_form_not_json(agent):
    page = agent.get("/tickets/new", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-testid="new-ticket-form"' in page.text


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/tickets/new", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/tickets/new"


def test_creating_a_ticket_files_it_for_triage_and_opens_it(agent, database):
    billing = make_team(database, "Billing")
    response = agent.post(
        "/tickets/new",
        {
            "contact": "New.Person@Example.com",
            "name": "New Person",
            "subject": "Called about a refund",
            "body": "The customer called: refund for order 1234",
            "channel": "phone",
            "priority": "high",
            "team_id": str(billing),
        },
    )
    assert response.status_code == 201, response.text
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (
            ticket.channel is Channel.PHONE and ticket.priority is Priority.HIGH and ticket.team_id == billing
        )
        assert ticket.subject == "Called about a refund"
        assert session.scalar(select(Job).where(Job.name == "triage.process_inbound")) is not None
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.id}"
    assert "New Person" in agent.get(f"/tickets/{ticket.id}").text


def test_picking_an_existing_customer_from_the_search(agent, database):
    make_ticket(database, email="known@example.com")
    matches = agent.get("/tickets/new/customers", params={"q": "known@"})
    assert "known@example.com" in matches.text
    with database.transaction(read_only=True) as session:
        customer_id = session.scalars(select(Ticket.customer_id)).one()
    response = agent.post("/tickets/new", {"customer_id": str(customer_id), "body": "Second issue"})
    assert response.status_code == 201
    with database.transaction(read_only=True) as session:
        assert {t.customer_id for t in session.scalars(select(Ticket))} == {customer_id}


def test_mistakes_are_422s_saying_what_to_fix(agent, database):
    cases = [
        ({"body": "x"}, "email address or phone number"),
        ({"body": "x", "contact": "not-an-email@"}, "not an email address"),
        ({"body": "x", "contact": "a@example.com", "channel": "internal"}, "Choose the channel"),
        ({"body": "x", "contact": "a@example.com", "team_id": "99999"}, "team"),
        ({"body": "   ", "contact": "a@example.com"}, "first message"),
    ]
    for data, message in cases:
        response = agent.post("/tickets/new", data)
        assert response.status_code in (404, 422), (data, response.text)
        assert message.lower() in response.text.lower(), (data, response.text)
    assert count(database, Ticket) == 0
