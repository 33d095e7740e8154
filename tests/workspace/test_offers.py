"""The pending-offers panel: what it shows, Accept opens the ticket, Decline moves it on, 409 when gone."""

from __future__ import annotations

import pytest

from relaydesk.customers import service as customers
from relaydesk.customers.schemas import CustomerUpdate
from relaydesk.tickets.enums import Channel
from tests.factories import events_of_kind, sign_in_agent
from tests.routing.conftest import offer_of, queued_ticket, reload_ticket, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

pytestmark = pytest.mark.usefixtures("policy")


def _name_customer(database, ticket_id: int, name: str) -> None:
    with database.transaction() as session:
        customer_id = reload_ticket(database, ticket_id).customer_id
        customers.update_customer(session, customer_id, CustomerUpdate(name=name))


def _htmx(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


def test_signed_out_the_panel_sends_to_the_login(client, database, clock):
    response = client.get("/workspace/offers")
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_every_agent_page_carries_the_polling_panel(client, database, clock):
    sign_in_agent(client, routing_agent(database, "Ann"))
    page = client.get("/tickets").text
    assert 'id="offers"' in page and 'hx-get="/workspace/offers"' in page and "every 3s" in page
    assert "/static/workspace/offers.js" in page
    assert client.get("/static/workspace/offers.js").status_code == 200


def test_the_panel_shows_subject_channel_customer_and_countdown(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)
    _name_customer(database, ticket_id, "Dana Scully")
    sign_in_agent(client, ann)

    panel = client.get("/workspace/offers").text
    offer_id, _ = offer_of(database, ticket_id)
    assert f'data-offer-id="{offer_id}"' in panel
    assert "web chat" in panel and "Dana Scully" in panel
    subject = reload_ticket(database, ticket_id).subject or f"Ticket {ticket_id}"
    assert f"Offered to you: {subject}" in panel
    assert "30 s left" in panel  # the live queue's offer timeout in the test policy

    clock.advance(seconds=12)
    assert "18 s left" in client.get("/workspace/offers").text
    clock.advance(seconds=20)
    assert "data-offer-id" not in client.get("/workspace/offers").text  # ran out: no longer shown


def test_accept_assigns_and_opens_the_ticket(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)
    offer_id, _ = offer_of(database, ticket_id)
    csrf = sign_in_agent(client, ann)

    response = client.post(f"/workspace/offers/{offer_id}/accept", headers=_htmx(csrf))

    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/tickets/{ticket_id}"
    assert reload_ticket(database, ticket_id).assignee_id == ann.agent_id
    assert "data-offer-id" not in client.get("/workspace/offers").text


def test_accept_without_javascript_redirects_to_the_ticket(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    offer_id, _ = offer_of(database, ticket_id)
    csrf = sign_in_agent(client, ann)

    response = client.post(
        f"/workspace/offers/{offer_id}/accept", data={"csrf_token": csrf}, follow_redirects=False
    )

    assert response.status_code == 303 and response.headers["location"] == f"/tickets/{ticket_id}"


def test_an_offer_that_is_gone_answers_409_with_the_reason(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)
    offer_id, _ = offer_of(database, ticket_id)
    csrf = sign_in_agent(client, ann)
    clock.advance(seconds=31)

    late = client.post(f"/workspace/offers/{offer_id}/accept", headers=_htmx(csrf))

    assert late.status_code == 409
    assert "ran out" in late.text and 'data-testid="offers-message"' in late.text
    assert reload_ticket(database, ticket_id).assignee_id is None


def test_decline_with_a_reason_moves_the_ticket_to_the_next_agent(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    offer_id, first = offer_of(database, ticket_id)
    assert first == ann.agent_id
    bob = routing_agent(database, "Bob")
    csrf = sign_in_agent(client, ann)

    response = client.post(
        f"/workspace/offers/{offer_id}/decline", data={"reason": "  off to lunch "}, headers=_htmx(csrf)
    )

    assert response.status_code == 200 and "Declined" in response.text
    assert "data-offer-id" not in response.text
    [declined] = events_of_kind(database, "routing.declined")
    assert declined.data["reason"] == "off to lunch"
    assert offer_of(database, ticket_id)[1] == bob.agent_id
    again = client.post(f"/workspace/offers/{offer_id}/decline", headers=_htmx(csrf))
    assert again.status_code == 409 and "no longer open" in again.text


def test_someone_elses_offer_is_not_found(client, database, clock):
    routing_agent(database, "Ann")
    offer_id, _ = offer_of(database, queued_ticket(database))
    csrf = sign_in_agent(client, routing_agent(database, "Bob", online=False))

    response = client.post(f"/workspace/offers/{offer_id}/accept", headers=_htmx(csrf))

    assert response.status_code == 404


def test_a_write_without_the_csrf_token_is_refused(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    offer_id, _ = offer_of(database, ticket_id)
    sign_in_agent(client, ann)

    response = client.post(f"/workspace/offers/{offer_id}/accept", headers={"HX-Request": "true"})

    assert response.status_code == 403 and "reload" in response.text
    assert reload_ticket(database, ticket_id).assignee_id is None


def test_an_overlong_reason_is_a_4xx(client, database, clock):
    ann = routing_agent(database, "Ann")
    offer_id, _ = offer_of(database, queued_ticket(database))
    csrf = sign_in_agent(client, ann)

    response = client.post(
        f"/workspace/offers/{offer_id}/decline", data={"reason": "x" * 501}, headers=_htmx(csrf)
    )

    assert 400 <= response.status_code < 500
