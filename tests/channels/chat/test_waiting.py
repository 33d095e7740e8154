"""The widget's honest place in the queue: position, expected wait only with a basis, may leave."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.schemas import IdentityIn
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import StatusChange
from tests.channels.chat.conftest import new_visitor, send
from tests.routing.conftest import offer_of, route_now, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

pytestmark = pytest.mark.usefixtures("policy")


def _chat_waiting(client, database, site, n: int) -> tuple[str, int]:
    """A visitor asks for a person; their ticket is released to routing as triage would."""
    token = new_visitor(client, site)
    assert send(client, site, token, "I need a person please", client_id=f"client-{n:04d}").status_code == 201
    with database.transaction() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()
        tickets.change_status(
            session, ticket, StatusChange(status=TicketStatus.QUEUED), Actor(AuthorKind.SYSTEM)
        )
        ticket_id = ticket.id
    route_now(database, ticket_id)
    return token, ticket_id


def _waiting(client, site, token: str):
    response = client.get("/chat/v1/conversation", headers=site.headers(token))
    assert response.status_code == 200, response.text
    return response.json()["waiting"]


def test_no_basis_no_number_and_the_position_moves(client, database, site, clock):
    first, first_ticket = _chat_waiting(client, database, site, 1)
    second, _ = _chat_waiting(client, database, site, 2)

    waiting = _waiting(client, site, second)
    assert waiting["position"] == 2 and waiting["expected_wait_minutes"] is None
    assert waiting["text"] == (
        "You are number 2 in the queue; an agent will be with you as soon as possible."
        " You may leave: we will answer here when you come back."
    )
    assert _waiting(client, site, first)["position"] == 1

    ann = routing_agent(database, "Ann")  # comes online and pulls the first chat
    taken = client.post("/api/v1/routing/next", headers=ann.headers).json()
    assert taken["id"] == first_ticket
    assert _waiting(client, site, first) is None  # a person has it: no queue notice
    assert _waiting(client, site, second)["position"] == 1


def test_the_expected_wait_comes_from_recent_handling(client, database, site, clock):
    ann = routing_agent(database, "Ann")
    _, first_ticket = _chat_waiting(client, database, site, 1)
    offer_id, _ = offer_of(database, first_ticket)
    client.post(f"/api/v1/routing/offers/{offer_id}/accept", headers=ann.headers).raise_for_status()
    clock.advance(minutes=4)
    client.post(
        f"/api/v1/tickets/{first_ticket}/messages", json={"body": "Hello, Ann here."}, headers=ann.headers
    ).raise_for_status()
    second, second_ticket = _chat_waiting(client, database, site, 2)
    with database.transaction() as session:  # the visitor left us an email address
        customer_id = tickets.get_ticket(session, second_ticket).customer_id
        customers.add_identity(
            session,
            customers.get_customer(session, customer_id),
            IdentityIn(kind=IdentityKind.EMAIL, value="dana@example.com"),
        )

    waiting = _waiting(client, site, second)

    # One agent online, the queue's median handling time 4 minutes, position 1: about 4 minutes.
    assert waiting["position"] == 1 and waiting["expected_wait_minutes"] == 4
    assert waiting["email_known"] is True
    assert waiting["text"] == (
        "You are number 1 in the queue, expected wait about 4 minutes."
        " You may leave: we will answer here and by email to dana@example.com."
    )


def test_before_routing_there_is_no_notice(client, database, site, clock):
    token = new_visitor(client, site)
    assert _waiting(client, site, token) is None
    send(client, site, token, "Hello?")
    assert _waiting(client, site, token) is None  # not released to a queue yet
