"""Where a public reply goes: an address that was on the ticket before, or one the agent confirmed."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.channels.models import Delivery
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket
from tests.factories import make_agent, run_jobs


def write(database, sender: str, number: int) -> int:
    """A customer's email whose From a trusted MTA authenticated, as the email adapter hands it over."""
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


def delivered_to(database, message_id: int) -> str:
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        return session.scalar(select(Delivery.recipient).where(Delivery.message_id == message_id))


def test_reply_to_a_changed_address_waits_for_the_agents_confirmation(client, database):
    agent = make_agent(database)
    lead = make_agent(database, Role.LEAD)
    ticket = write(database, "victim@example.com", 1)
    first = client.post(f"/api/v1/tickets/{ticket}/messages", json={"body": "Hello"}, headers=agent.headers)
    assert delivered_to(database, first.json()["id"]) == "victim@example.com"

    # A lead merges in a record holding another address; a proven message then arrives from it.
    other = client.post(
        "/api/v1/customers",
        json={"identities": [{"kind": "email", "value": "new@example.net", "verified": True}]},
        headers=lead.headers,
    ).json()
    with database.transaction() as session:
        victim = session.get(Ticket, ticket).customer_id
    merged = client.post(
        f"/api/v1/customers/{other['id']}/merge", json={"into_id": victim}, headers=lead.headers
    )
    assert merged.status_code == 200
    assert write(database, "new@example.net", 2) == ticket

    asked = client.post(f"/api/v1/tickets/{ticket}/messages", json={"body": "Terms"}, headers=agent.headers)
    assert asked.status_code == 409, asked.text
    error = asked.json()["error"]
    assert error["code"] == "recipient_changed" and "new@example.net" in error["message"]
    assert error["details"]["choices"] == ["victim@example.com", "new@example.net"]
    wrong = client.post(
        f"/api/v1/tickets/{ticket}/messages",
        json={"body": "Terms", "confirm_recipient": "someone@else.example"},
        headers=agent.headers,
    )
    assert wrong.status_code == 422
    kept = client.post(
        f"/api/v1/tickets/{ticket}/messages",
        json={"body": "Terms", "confirm_recipient": "victim@example.com"},
        headers=agent.headers,
    )
    assert delivered_to(database, kept.json()["id"]) == "victim@example.com"
    moved = client.post(
        f"/api/v1/tickets/{ticket}/messages",
        json={"body": "Terms", "confirm_recipient": "NEW@example.net"},
        headers=agent.headers,
    )
    assert delivered_to(database, moved.json()["id"]) == "new@example.net"
    # Confirmed once, the address is on the ticket: the next reply needs no question.
    again = client.post(f"/api/v1/tickets/{ticket}/messages", json={"body": "More"}, headers=agent.headers)
    assert again.status_code == 201 and delivered_to(database, again.json()["id"]) == "new@example.net"


def test_a_ticket_opened_without_an_address_asks_before_answering_a_second_identity(client, database):
    agent = make_agent(database)
    lead = make_agent(database, Role.LEAD)
    created = client.post(
        "/api/v1/tickets",
        json={"body": "Help", "customer": {"kind": "email", "value": "dana@example.com"}, "channel": "email"},
        headers=agent.headers,
    ).json()
    added = client.post(
        f"/api/v1/customers/{created['customer_id']}/identities",
        json={"kind": "email", "value": "dana@other.example", "verified": True},
        headers=lead.headers,
    )
    assert added.status_code == 201
    asked = client.post(
        f"/api/v1/tickets/{created['id']}/messages", json={"body": "Hi"}, headers=agent.headers
    )
    assert asked.status_code == 409
    assert set(asked.json()["error"]["details"]["choices"]) == {"dana@example.com", "dana@other.example"}
