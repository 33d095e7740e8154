from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.commerce.models import Order
from relaydesk.kit.time import utcnow
from relaydesk.tickets.models import Ticket, TicketEvent
from tests.factories import make_agent, make_ticket


def test_merging_moves_identities_tickets_and_orders(client, database):
    agent = make_agent(database, Role.LEAD)  # merging customers is a lead's decision
    chat_ticket = make_ticket(database, email="dana.chat@example.com", body="Chat question")
    mail_ticket = make_ticket(database, email="dana@example.com", body="Email question")
    with database.transaction() as session:
        source_id = session.get(Ticket, chat_ticket).customer_id
        target_id = session.get(Ticket, mail_ticket).customer_id
        session.add(Order(order_number="A-1", customer_id=source_id, placed_at=utcnow(), total_cents=100))
    client.patch(
        f"/api/v1/customers/{source_id}", json={"name": "Dana", "tier": "vip"}, headers=agent.headers
    )
    client.patch(f"/api/v1/customers/{target_id}", json={"name": "dana"}, headers=agent.headers)

    candidates = client.get(f"/api/v1/customers/{target_id}/merge-candidates", headers=agent.headers).json()
    assert [(c["customer"]["id"], c["reasons"]) for c in candidates] == [(source_id, ["same name"])]

    merged = client.post(
        f"/api/v1/customers/{source_id}/merge", json={"into_id": target_id}, headers=agent.headers
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["id"] == target_id and body["tier"] == "vip"
    assert sorted(i["value"] for i in body["identities"]) == ["dana.chat@example.com", "dana@example.com"]
    with database.transaction() as session:
        assert {t.customer_id for t in session.scalars(select(Ticket))} == {target_id}
        assert session.scalar(select(Order.customer_id)) == target_id
        assert (
            session.scalar(
                select(TicketEvent.kind)
                .where(TicketEvent.ticket_id == chat_ticket)
                .order_by(TicketEvent.id.desc())
            )
            == "ticket.customer_merged"
        )
    again = client.post(
        f"/api/v1/customers/{source_id}/merge", json={"into_id": target_id}, headers=agent.headers
    )
    assert again.status_code == 409


def test_mail_from_a_merged_identity_reaches_the_surviving_customer(client, database):
    agent = make_agent(database, Role.LEAD)  # merging customers is a lead's decision
    first = make_ticket(database, email="old@example.com")
    second = make_ticket(database, email="new@example.com")
    with database.transaction() as session:
        source_id, target_id = session.get(Ticket, first).customer_id, session.get(Ticket, second).customer_id
    client.post(f"/api/v1/customers/{source_id}/merge", json={"into_id": target_id}, headers=agent.headers)
    third = make_ticket(database, email="old@example.com")
    with database.transaction() as session:
        assert session.get(Ticket, third).customer_id == target_id


def test_merging_into_itself_is_refused(client, database):
    agent = make_agent(database, Role.LEAD)  # merging customers is a lead's decision
    ticket = make_ticket(database)
    with database.transaction() as session:
        customer_id = session.get(Ticket, ticket).customer_id
    response = client.post(
        f"/api/v1/customers/{customer_id}/merge", json={"into_id": customer_id}, headers=agent.headers
    )
    assert response.status_code == 422
