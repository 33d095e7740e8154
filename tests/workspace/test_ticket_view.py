"""The agent's ticket view: one timeline with names, the profile, and every action through the services."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from relaydesk.channels.models import Delivery
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.schemas import IdentityIn
from relaydesk.jobs.models import Job
from relaydesk.tickets.enums import DeliveryState, Priority, TicketStatus
from relaydesk.tickets.models import Message, Ticket
from relaydesk.triage.models import TriageCorrection
from tests.factories import count, events_of_kind, make_agent, make_team, make_ticket, run_jobs
from tests.workspace.conftest import signed_in_agent


def version_of(database, ticket_id: int) -> int:
    with database.transaction(read_only=True) as session:
        return session.get(Ticket, ticket_id).version


def ticket_row(database, ticket_id: int) -> Ticket:
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, ticket_id)
        session.expunge(ticket)
        return ticket


def test_the_page_shows_one_timeline_with_names_channels_and_events(client, database, agent, ticket_id):
    with database.transaction() as session:
        customer = customers.get_customer(session, session.get(Ticket, ticket_id).customer_id)
        customers.add_identity(
            session, customer, IdentityIn(kind=IdentityKind.PHONE, value="+44 20 7946 0000")
        )
    agent.post(f"/tickets/{ticket_id}/assign", {"assignee": "me", "version": version_of(database, ticket_id)})
    agent.post(f"/tickets/{ticket_id}/reply", {"body": "We are on it", "channel": "email"})
    agent.post(f"/tickets/{ticket_id}/note", {"body": "Checked the courier"})

    page = agent.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    html = page.text
    assert f'data-ticket-id="{ticket_id}"' in html and '<div id="collision" hidden></div>' in html
    assert '<ol id="timeline"' in html and 'id="reply-body"' in html
    name = re.search(r"Agent \d+", html)
    assert name is not None
    # Names, never "agent" / "customer 13": the customer has no name, so their email shows.
    authors = re.findall(r'data-testid="author">([^<]+)<', html)
    assert authors == ["ada@example.com", name.group(0), name.group(0)]
    assert html.count('data-testid="internal-note"') == 1
    assert f"Assigned to {name.group(0)}" in html
    # The profile: every identity, and the channels the customer can be answered on.
    assert "+442079460000" in html and "ada@example.com" in html
    assert '<option value="sms"' in html and '<option value="email" selected' in html


def test_past_tickets_link_the_customers_other_tickets(agent, database, ticket_id):
    older = make_ticket(database, email="ada@example.com", body="Second question")
    html = agent.get(f"/tickets/{ticket_id}").text
    assert f'href="/tickets/{older}"' in html


def test_the_timeline_fragment_answers_only_newer_messages(agent, database, ticket_id):
    agent.post(f"/tickets/{ticket_id}/note", {"body": "first note"})
    with database.transaction(read_only=True) as session:
        first = session.scalars(select(Message.id).where(Message.ticket_id == ticket_id)).first()
    fragment = agent.get(f"/tickets/{ticket_id}/timeline", params={"after": first})
    assert fragment.status_code == 200
    assert fragment.text.count("<li data-message-id=") == 1 and "first note" in fragment.text
    assert "My parcel never arrived" not in fragment.text


def test_reply_goes_out_on_the_chosen_channel_with_its_delivery_state(agent, database, ticket_id):
    response = agent.post(
        f"/tickets/{ticket_id}/reply", {"body": "Your parcel is on its way", "channel": "email"}
    )
    assert response.status_code == 200
    assert 'data-state="queued"' in response.text
    with database.transaction(read_only=True) as session:
        reply = session.scalars(select(Message).where(Message.body_text == "Your parcel is on its way")).one()
        assert reply.public and reply.author_agent_id == agent.login.agent_id
        assert session.scalar(select(Job).where(Job.name == "channels.deliver_message")) is not None


def test_a_changed_address_becomes_a_confirmation_step(agent, client, database):
    from relaydesk.channels.base import InboundMessage
    from relaydesk.channels.intake import ingest
    from relaydesk.tickets.enums import Channel

    def write(sender: str, number: int) -> int:
        with database.transaction() as session:
            return ingest(
                session,
                InboundMessage(
                    channel=Channel.EMAIL,
                    identity_kind=IdentityKind.EMAIL,
                    identity_value=sender,
                    identity_proven=True,
                    text=f"Message {number}",
                    provider_message_id=f"<{number}@example.com>",
                ),
            ).ticket_id

    ticket_id = write("first@example.com", 1)
    with database.transaction() as session:
        customer = customers.get_customer(session, session.get(Ticket, ticket_id).customer_id)
        customers.add_identity(
            session, customer, IdentityIn(kind=IdentityKind.EMAIL, value="new@example.net")
        )
    assert write("new@example.net", 2) == ticket_id

    asked = agent.post(f"/tickets/{ticket_id}/reply", {"body": "Terms", "channel": "email"})
    assert asked.status_code == 409
    assert 'data-testid="confirm-recipient"' in asked.text
    assert "new@example.net" in asked.text and "Send anyway?" in asked.text
    assert count(database, Message, Message.body_text == "Terms") == 0

    sent = agent.post(
        f"/tickets/{ticket_id}/reply",
        {"body": "Terms", "channel": "email", "confirm_recipient": "first@example.com"},
    )
    assert sent.status_code == 200
    with database.transaction(read_only=True) as session:
        reply = session.scalars(select(Message).where(Message.body_text == "Terms")).one()
        assert reply.meta["recipient"] == "first@example.com"


def test_a_note_never_reaches_an_email_customer(agent, database, ticket_id):
    response = agent.post(f"/tickets/{ticket_id}/note", {"body": "Customer sounds upset; refund ok"})
    assert response.status_code == 200
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        note = session.scalars(select(Message).where(Message.body_text.startswith("Customer sounds"))).one()
        assert not note.public and note.delivery_state is DeliveryState.NOT_SENT
        assert session.scalar(select(Delivery).where(Delivery.message_id == note.id)) is None
    assert count(database, Job, Job.name == "channels.deliver_message") == 0


def test_a_note_never_reaches_a_chat_visitor(client, database, site):
    from tests.channels.chat.conftest import new_visitor, send

    token = new_visitor(client, site)
    sent = send(client, site, token, "Is my order shipped?")
    assert sent.status_code in (200, 201), sent.text
    with database.transaction(read_only=True) as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
    staff = signed_in_agent(client, database)
    assert (
        staff.post(f"/tickets/{ticket_id}/note", {"body": "internal: check the warehouse"}).status_code == 200
    )
    assert staff.post(f"/tickets/{ticket_id}/reply", {"body": "Yes, it left today"}).status_code == 200
    run_jobs(database)
    client.cookies.clear()
    seen = client.get("/chat/v1/conversation", headers=site.headers(token)).json()["messages"]
    bodies = [m["body"] for m in seen]
    assert "Yes, it left today" in bodies
    assert not any("warehouse" in b for b in bodies)


def test_changing_priority_category_team_and_tags_writes_events_and_triage_feedback(
    agent, database, ticket_id
):
    billing = make_team(database, "Billing")
    response = agent.post(
        f"/tickets/{ticket_id}/properties",
        {
            "version": version_of(database, ticket_id),
            "priority": "high",
            "category": "refund",
            "team_id": str(billing),
            "tags": "Gift wrap, repeat",
        },
    )
    assert response.status_code == 200, response.text
    ticket = ticket_row(database, ticket_id)
    assert ticket.priority is Priority.HIGH and ticket.category == "refund" and ticket.team_id == billing
    assert ticket.flags == ["gift_wrap", "repeat"]
    with database.transaction(read_only=True) as session:
        heads = {c.head: c.corrected_label for c in session.scalars(select(TriageCorrection))}
    assert heads == {"category": "refund", "team": "Billing"}
    assert len(events_of_kind(database, "ticket.priority_changed")) == 1


def test_a_stale_version_is_a_conflict_telling_the_agent_to_reload(agent, database, ticket_id):
    seen = version_of(database, ticket_id)
    assert (
        agent.post(f"/tickets/{ticket_id}/properties", {"version": seen, "priority": "high"}).status_code
        == 200
    )
    for path, data in [
        ("properties", {"version": seen, "priority": "low"}),
        ("assign", {"version": seen, "assignee": "me"}),
        ("resolve", {"version": seen}),
    ]:
        stale = agent.post(f"/tickets/{ticket_id}/{path}", data)
        assert stale.status_code == 409, path
        assert "Someone changed this ticket" in stale.text and 'data-testid="reload"' in stale.text
    assert ticket_row(database, ticket_id).priority is Priority.HIGH


def test_assign_to_me_to_another_agent_and_to_nobody(agent, database, ticket_id):
    other = make_agent(database)
    agent.post(f"/tickets/{ticket_id}/assign", {"version": version_of(database, ticket_id), "assignee": "me"})
    assert ticket_row(database, ticket_id).assignee_id == agent.login.agent_id
    agent.post(
        f"/tickets/{ticket_id}/assign",
        {"version": version_of(database, ticket_id), "assignee": str(other.agent_id)},
    )
    assert ticket_row(database, ticket_id).assignee_id == other.agent_id
    agent.post(
        f"/tickets/{ticket_id}/assign", {"version": version_of(database, ticket_id), "assignee": "nobody"}
    )
    assert ticket_row(database, ticket_id).assignee_id is None
    bad = agent.post(
        f"/tickets/{ticket_id}/assign", {"version": version_of(database, ticket_id), "assignee": "x"}
    )
    assert bad.status_code == 422


def test_assigning_a_restricted_ticket_to_an_outsider_is_refused(client, database, legal):
    team, restricted = legal
    member = signed_in_agent(client, database, team_ids=[team])
    outsider = make_agent(database)
    refused = member.post(
        f"/tickets/{restricted}/assign",
        {"version": version_of(database, restricted), "assignee": str(outsider.agent_id)},
    )
    assert refused.status_code == 422 and "restricted team" in refused.text
    assert ticket_row(database, restricted).assignee_id is None


def test_transfer_moves_the_ticket_to_the_team_unassigned_with_the_note(agent, database, ticket_id):
    billing = make_team(database, "Billing")
    agent.post(f"/tickets/{ticket_id}/assign", {"version": version_of(database, ticket_id), "assignee": "me"})
    response = agent.post(
        f"/tickets/{ticket_id}/transfer",
        {"version": version_of(database, ticket_id), "team_id": str(billing), "note": "Refund question"},
    )
    assert response.status_code == 200
    ticket = ticket_row(database, ticket_id)
    assert ticket.team_id == billing and ticket.assignee_id is None
    with database.transaction(read_only=True) as session:
        note = session.scalars(select(Message).where(Message.body_text == "Refund question")).one()
        assert not note.public
    assert events_of_kind(database, "ticket.team_changed")[-1].data["reason"] == "Refund question"
    same = agent.post(
        f"/tickets/{ticket_id}/transfer",
        {"version": version_of(database, ticket_id), "team_id": str(billing)},
    )
    assert same.status_code == 422


def test_resolve(agent, database, ticket_id):
    response = agent.post(f"/tickets/{ticket_id}/resolve", {"version": version_of(database, ticket_id)})
    assert response.status_code == 200
    assert ticket_row(database, ticket_id).status is TicketStatus.RESOLVED
    assert 'data-testid="resolve"' not in response.text


def test_a_failed_reply_shows_the_reason_and_can_be_sent_again(agent, database, ticket_id):
    agent.post(f"/tickets/{ticket_id}/reply", {"body": "Hello there", "channel": "email"})
    run_jobs(database)  # no SMTP configured in the tests: the channel is not configured
    page = agent.get(f"/tickets/{ticket_id}").text
    assert 'data-state="failed"' in page and 'data-testid="delivery-error"' in page
    assert 'data-testid="retry-delivery"' in page
    with database.transaction(read_only=True) as session:
        reply = session.scalars(select(Message).where(Message.body_text == "Hello there")).one()
    retried = agent.post(f"/tickets/{ticket_id}/messages/{reply.id}/retry")
    assert retried.status_code == 200 and 'data-state="queued"' in retried.text
    assert count(database, Job, Job.name == "channels.deliver_message") == 2
    again = agent.post(f"/tickets/{ticket_id}/messages/{reply.id}/retry")
    assert again.status_code == 409  # queued: still on its way


ACTIONS = [
    ("reply", {"body": "hi"}),
    ("note", {"body": "hi"}),
    ("properties", {"version": 1, "priority": "high"}),
    ("assign", {"version": 1, "assignee": "me"}),
    ("transfer", {"version": 1, "team_id": "1"}),
    ("resolve", {"version": 1}),
    ("macros/1/apply", {}),
]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_an_outsider_cannot_act_on_a_restricted_ticket(client, database, legal, path, data):
    _team, restricted = legal
    outsider = signed_in_agent(client, database)
    before = version_of(database, restricted)
    response = outsider.post(f"/tickets/{restricted}/{path}", data)
    assert response.status_code == 404
    assert "Notice of claim" not in response.text
    assert version_of(database, restricted) == before
    assert count(database, Message, Message.ticket_id == restricted) == 1


def test_pages_of_a_restricted_ticket_answer_the_same_404_as_a_missing_one(client, database, legal):
    team, restricted = legal
    outsider = signed_in_agent(client, database)
    for suffix in ("", "/timeline", "/articles"):
        hidden = outsider.get(f"/tickets/{restricted}{suffix}", headers={"Accept": "text/html"})
        missing = outsider.get(f"/tickets/999999{suffix}", headers={"Accept": "text/html"})
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text and "Notice of claim" not in hidden.text
    member = signed_in_agent(client, database, team_ids=[team])
    assert "Notice of claim" in member.get(f"/tickets/{restricted}").text


def test_an_agent_of_another_team_works_an_unrestricted_ticket(client, database):
    sales = make_team(database, "Sales")
    support = make_team(database, "Support")
    ticket = make_ticket(database, team_id=sales, email="bo@example.com")
    other_team = signed_in_agent(client, database, team_ids=[support])
    assert other_team.post(f"/tickets/{ticket}/note", {"body": "seen"}).status_code == 200
    assert (
        other_team.post(f"/tickets/{ticket}/resolve", {"version": version_of(database, ticket)}).status_code
        == 200
    )


def test_signed_out_visitors_are_sent_to_sign_in(client, ticket_id):
    response = client.get(f"/tickets/{ticket_id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next=/tickets/{ticket_id}"
    refused = client.post(f"/tickets/{ticket_id}/note", data={"body": "x"})
    assert refused.status_code == 401
