"""The widget asks an anonymous visitor for a name and email once a person must answer; what they give
lands on their own customer record, and an email never merges them into someone else's."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, TicketStatus
from relaydesk.tickets.models import Message, Ticket, TicketEvent
from relaydesk.tickets.schemas import StatusChange
from tests.channels.chat.conftest import new_visitor, send
from tests.channels.chat.test_socket import ws_url
from tests.factories import make_ticket

SYSTEM = tickets.Actor(AuthorKind.SYSTEM)


def _queue_for_a_person(database) -> int:
    """Routing queues the visitor's ticket, as triage does once it is ready for routing."""
    with database.transaction() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        assert ticket is not None
        tickets.change_status(session, ticket, StatusChange(status=TicketStatus.QUEUED), SYSTEM)
        return ticket.id


def _conversation(client, site, token):
    response = client.get("/chat/v1/conversation", headers=site.headers(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_an_anonymous_visitor_is_asked_once_a_person_must_answer_and_the_answer_names_them(
    client, database, site
):
    token = new_visitor(client, site)
    assert send(client, site, token, "My boots have not arrived").status_code == 201
    assert _conversation(client, site, token)["ask_contact"] is False  # the bot may still answer
    ticket_id = _queue_for_a_person(database)
    assert _conversation(client, site, token)["ask_contact"] is True

    contact = {"name": " Zoe Park ", "email": "Zoe@Example.com"}
    saved = client.post("/chat/v1/contact", json=contact, headers=site.headers(token))
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"name": "Zoe Park", "ask_contact": False}
    assert _conversation(client, site, token)["ask_contact"] is False
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, ticket_id)
        customer = session.get(Customer, ticket.customer_id)
        assert customer.name == "Zoe Park"  # agents see a name instead of "customer 13"
        [email] = [i for i in customer.identities if i.kind == IdentityKind.EMAIL]
        assert email.value == "zoe@example.com" and email.verified is False
        event = session.scalar(select(TicketEvent).where(TicketEvent.kind == "customer.contact_given"))
        assert event.ticket_id == ticket_id and event.data["email"] == "zoe@example.com"


def test_an_email_that_is_someone_else_s_is_not_attached_and_merges_nothing(client, database, site):
    victim_ticket = make_ticket(database, email="victim@example.com", body="My private order question")
    token = new_visitor(client, site)
    send(client, site, token, "Hello, I need a person")
    _queue_for_a_person(database)

    contact = {"name": "Mallory", "email": "victim@example.com"}
    saved = client.post("/chat/v1/contact", json=contact, headers=site.headers(token))
    # The same answer as for a free address: the form does not tell who is a customer.
    assert saved.status_code == 200 and saved.json() == {"name": "Mallory", "ask_contact": False}
    with database.transaction(read_only=True) as session:
        victim = session.get(Ticket, victim_ticket)
        [holder] = session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.value == "victim@example.com")
        ).all()
        assert holder.customer_id == victim.customer_id  # still only the real customer's
        assert session.get(Customer, victim.customer_id).merged_into_id is None
        event = session.scalar(select(TicketEvent).where(TicketEvent.kind == "customer.contact_given"))
        assert event.data["claimed_email"] == "victim@example.com"
        assert event.data["email_belongs_to_customer_id"] == victim.customer_id
    # The visitor's conversation stays their own.
    bodies = [m["body"] for m in _conversation(client, site, token)["messages"]]
    assert bodies == ["Hello, I need a person"]


def test_contact_mistakes_are_told_at_the_edge(client, database, site):
    token = new_visitor(client, site)
    before = client.post("/chat/v1/contact", json={"name": "Zoe"}, headers=site.headers(token))
    assert before.status_code == 409 and "Send your message first" in before.json()["error"]["message"]
    send(client, site, token, "Hello")
    bad_email = client.post("/chat/v1/contact", json={"email": "zoe at home"}, headers=site.headers(token))
    assert bad_email.status_code == 422 and "not an email address" in bad_email.json()["error"]["message"]
    nothing = client.post("/chat/v1/contact", json={"name": "  "}, headers=site.headers(token))
    assert nothing.status_code == 422 and "name, your email address, or both" in nothing.text
    two_lines = client.post("/chat/v1/contact", json={"name": "Zoe\nPark"}, headers=site.headers(token))
    assert two_lines.status_code == 422
    unknown = client.post("/chat/v1/contact", json={"phone": "123"}, headers=site.headers(token))
    assert unknown.status_code == 422
    assert client.post("/chat/v1/contact", json={"name": "Zoe"}).status_code == 401  # no site, no visitor


def test_a_name_we_already_have_is_kept(client, database, site):
    token = new_visitor(client, site)
    send(client, site, token, "Hello")
    ticket_id = _queue_for_a_person(database)
    with database.transaction() as session:
        customer_id = session.get(Ticket, ticket_id).customer_id
        session.get(Customer, customer_id).name = "Zoe from the shop"
    assert _conversation(client, site, token)["ask_contact"] is False  # a name is enough to address them
    answer = client.post("/chat/v1/contact", json={"name": "Someone Else"}, headers=site.headers(token))
    assert answer.status_code == 200 and answer.json()["name"] == "Zoe from the shop"


def test_the_socket_says_when_to_ask_and_takes_the_answer(client, database, site):
    token = new_visitor(client, site)
    send(client, site, token, "Hi, is anyone there?")
    _queue_for_a_person(database)
    with client.websocket_connect(ws_url(site, token)) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["ask_contact"] is True
        ws.send_json({"type": "contact", "name": "Zoe", "email": "not-an-address"})
        error = ws.receive_json()
        assert error["type"] == "error" and "not an email address" in error["error"]["message"]
        ws.send_json({"type": "contact", "name": "Zoe", "email": "zoe@example.com"})
        saved = ws.receive_json()
        assert saved == {"type": "contact_saved", "name": "Zoe", "ask_contact": False}
    with database.transaction(read_only=True) as session:
        customer = session.scalars(select(Customer).where(Customer.name == "Zoe")).one()
        assert {i.kind for i in customer.identities} == {IdentityKind.CHAT_VISITOR, IdentityKind.EMAIL}
        assert session.scalar(select(Message.body_text)) == "Hi, is anyone there?"
