"""The public chat API (REST) and the admin/agent routes around it, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.channels.chat import service
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.models import Delivery, DeliveryStatus, QuarantinedInput
from relaydesk.channels.tasks import deliver_message
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.models import CustomerIdentity
from relaydesk.customers.schemas import CustomerCreate, IdentityIn
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.enums import Channel, DeliveryState
from relaydesk.tickets.models import Message, Ticket
from tests.channels.chat.conftest import SHOP_ORIGIN, new_visitor, send
from tests.factories import count, make_agent, make_team, make_ticket


def agent_reply(client, login, ticket_id, body):
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": body, "channel": "web_chat"},
        headers=login.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_returning_visitor_sees_the_whole_conversation_from_the_server(client, database, site):
    first = client.get("/chat/v1/conversation", headers=site.headers())
    assert first.status_code == 200
    body = first.json()
    token, visitor_id = body["visitor_token"], body["visitor_id"]
    assert body["messages"] == [] and body["site"]["greeting"] == "Hello from the shop"
    assert token.startswith(visitor_id + ".")

    assert send(client, site, token, "Where is my order 3348917502?", "client-0001").status_code == 201
    assert send(client, site, token, "It was due Monday.", "client-0002").status_code == 201
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        ticket_id = ticket.id
        assert ticket.channel is Channel.WEB_CHAT
        assert ticket.subject == "Where is my order 3348917502?"
        # The visitor id is the chat identity the deflection service links sessions through.
        identity = session.scalars(select(CustomerIdentity)).one()
        assert (identity.kind, identity.value) == (IdentityKind.CHAT_VISITOR, visitor_id)
    agent = make_agent(database)
    agent_reply(client, agent, ticket_id, "It left the warehouse today.")

    # Back on the same device (same token): the whole conversation, answered messages marked read.
    again = client.get("/chat/v1/conversation", headers=site.headers(token)).json()
    assert again["visitor_token"] is None and again["visitor_id"] == visitor_id
    assert [(m["author"], m["body"], m["state"]) for m in again["messages"]] == [
        ("visitor", "Where is my order 3348917502?", "read"),
        ("visitor", "It was due Monday.", "read"),
        ("agent", "It left the warehouse today.", "queued"),
    ]
    assert again["messages"][2]["author_name"] == "Agent"
    assert again["messages"][0]["client_id"] == "client-0001"

    # Polling asks only for what is new.
    last = again["messages"][1]["id"]
    newer = client.get(f"/chat/v1/conversation?after={last}", headers=site.headers(token)).json()
    assert [m["body"] for m in newer["messages"]] == ["It left the warehouse today."]

    # Another device (no token) is another visitor with an empty conversation.
    other = client.get("/chat/v1/conversation", headers=site.headers()).json()
    assert other["messages"] == [] and other["visitor_id"] != visitor_id


def test_a_resend_after_a_network_error_is_stored_once(client, database, site):
    token = new_visitor(client, site)
    first = send(client, site, token, "Hello?", "resend-0001")
    again = send(client, site, token, "Hello?", "resend-0001")
    assert first.status_code == 201 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert count(database, Message) == 1


def test_the_same_client_id_from_another_visitor_is_a_different_message(client, database, site):
    one, two = new_visitor(client, site), new_visitor(client, site)
    assert send(client, site, one, "Mine", "shared-0001").status_code == 201
    theirs = send(client, site, two, "Theirs", "shared-0001")
    assert theirs.status_code == 201 and theirs.json()["message"]["body"] == "Theirs"
    assert count(database, Message) == 2


def test_signed_identity_becomes_the_known_customer_on_web_and_in_app(client, database, site):
    with database.transaction() as session:
        known = customers.create_customer(
            session,
            CustomerCreate(
                name="Jo Known",
                identities=[
                    IdentityIn(kind=IdentityKind.EXTERNAL_ID, value=f"{site.key}:user-42", verified=True)
                ],
            ),
        )
        known_id = known.id
    web = client.post(
        "/chat/v1/messages",
        json={"client_id": "signed-0001", "body": "Hi, it's Jo"},
        headers=site.signed("user-42"),
    )
    assert web.status_code == 201, web.text
    app = client.post(
        "/chat/v1/messages",
        json={"client_id": "signed-0002", "body": "Writing from the app now"},
        headers=site.signed("user-42", channel="in_app"),
    )
    assert app.status_code == 201, app.text
    with database.transaction(read_only=True) as session:
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        assert {m.author_customer_id for m in messages} == {known_id}
        assert [m.channel for m in messages] == [Channel.WEB_CHAT, Channel.IN_APP]
        kinds = {(i.kind, i.verified) for i in session.scalars(select(CustomerIdentity)).all()}
        assert (IdentityKind.CHAT_VISITOR, False) in kinds  # the visitor id, for deflection links
    # One account, one conversation, whichever channel asks.
    in_app = client.get("/chat/v1/conversation", headers=site.signed("user-42", channel="in_app")).json()
    assert in_app["verified"] is True and in_app["channel"] == "in_app"
    assert [m["body"] for m in in_app["messages"]] == ["Hi, it's Jo", "Writing from the app now"]
    assert in_app["visitor_id"].startswith("u_")


def test_wrong_user_hash_is_refused_kept_in_quarantine_and_reprocessed_once_fixed(client, database, site):
    headers = site.signed("user-7", secret="a-secret-the-site-does-not-have")
    response = client.post(
        "/chat/v1/messages", json={"client_id": "bad-hash-01", "body": "Refund?"}, headers=headers
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "input_rejected" and error["details"]["reason"] == "bad_identity_signature"
    assert "HMAC-SHA256" in error["message"]
    assert count(database, Message) == 0
    with database.transaction(read_only=True) as session:
        held = session.scalars(select(QuarantinedInput)).one()
        assert held.source == "chat:message" and b"Refund?" in held.raw
        held_id = held.id

    # The site's server was right all along; an admin restores the secret it signs with.
    with database.transaction() as session:
        session.get(ChatSite, site.id).secret = "a-secret-the-site-does-not-have"
    admin = make_agent(database, Role.ADMIN)
    again = client.post(f"/api/v1/quarantine/{held_id}/reprocess", headers=admin.headers)
    assert again.status_code == 200, again.text
    with database.transaction(read_only=True) as session:
        message = session.scalars(select(Message)).one()
        assert message.body_text == "Refund?" and message.channel is Channel.WEB_CHAT


def test_identity_checks_say_what_to_fix(client, site):
    half = client.get("/chat/v1/conversation", headers=site.headers(**{"X-Relaydesk-User-Id": "u1"}))
    assert half.status_code == 400 and "data-user-hash" in half.json()["error"]["message"]
    in_app = client.get("/chat/v1/conversation", headers=site.headers(**{"X-Relaydesk-Channel": "in_app"}))
    assert in_app.status_code == 401 and "signed identity" in in_app.json()["error"]["message"]
    unknown = client.get("/chat/v1/conversation", headers={"X-Relaydesk-Site-Key": "nope-nope"})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "not_authenticated"
    missing = client.post("/chat/v1/messages", json={"client_id": "client-0001", "body": "hi"})
    assert missing.status_code == 401 and "X-Relaydesk-Site-Key" in missing.json()["error"]["message"]
    forged = send(client, site, "v_madeup.notasignature", "hi")
    assert forged.status_code == 401 and "visitor token" in forged.json()["error"]["message"]


def test_a_visitor_token_from_another_site_is_not_accepted(client, database, site):
    with database.transaction() as session:
        other = service.create_site(session, service.ChatSiteCreate(name="Other"), public_key="other-site")
        other_key = other.public_key
    token = client.get("/chat/v1/conversation", headers={"X-Relaydesk-Site-Key": other_key}).json()[
        "visitor_token"
    ]
    assert send(client, site, token, "hi").status_code == 401


def test_origins_are_checked_against_the_site_and_answers_carry_cors_headers(client, site):
    allowed = client.get("/chat/v1/conversation", headers=site.headers(origin=SHOP_ORIGIN))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP_ORIGIN

    refused = client.get("/chat/v1/conversation", headers=site.headers(origin="https://evil.example"))
    assert refused.status_code == 403
    assert "https://evil.example" in refused.json()["error"]["message"]
    # Readable by the page, so the widget can say why.
    assert refused.headers["access-control-allow-origin"] == "https://evil.example"

    preflight = client.options(
        "/chat/v1/messages",
        headers={"origin": SHOP_ORIGIN, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert "X-Relaydesk-Visitor-Token" in preflight.headers["access-control-allow-headers"]


def test_too_many_messages_are_refused_with_429(client, site, monkeypatch):
    monkeypatch.setenv("RELAYDESK_CHAT_MESSAGES_PER_MINUTE", "2")
    reset_settings_cache()
    token = new_visitor(client, site)
    assert send(client, site, token, "one", "limit-0001").status_code == 201
    assert send(client, site, token, "two", "limit-0002").status_code == 201
    third = send(client, site, token, "three", "limit-0003")
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limited"
    assert int(third.headers["retry-after"]) >= 1
    # Another visitor is not held back by this one.
    assert send(client, site, new_visitor(client, site), "mine", "limit-0004").status_code == 201


def test_too_many_requests_from_one_address_are_refused_with_429(client, site, monkeypatch):
    monkeypatch.setenv("RELAYDESK_CHAT_REQUESTS_PER_MINUTE", "3")
    reset_settings_cache()
    statuses = [client.get("/chat/v1/conversation", headers=site.headers()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_oversized_messages_and_bodies_are_refused_with_413(client, site, monkeypatch):
    token = new_visitor(client, site)
    too_long = send(client, site, token, "x" * 5001)
    assert too_long.status_code == 413 and "5000" in too_long.json()["error"]["message"]
    monkeypatch.setenv("RELAYDESK_CHAT_MAX_BODY_BYTES", "1000")
    reset_settings_cache()
    huge = send(client, site, token, "y" * 2000)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    empty = send(client, site, token, "   ")
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "body"

    def chunks():  # no Content-Length: the limit still holds while reading
        for _ in range(10):
            yield b"z" * 500

    chunked = client.post("/chat/v1/messages", content=chunks(), headers=site.headers(token))
    assert chunked.status_code == 413
    not_json = client.post("/chat/v1/messages", content=b"{nope", headers=site.headers(token))
    assert not_json.status_code == 422 and "JSON" in not_json.json()["error"]["message"]


def test_an_agent_reply_on_web_chat_leaves_through_the_outbox(client, database, site):
    token = new_visitor(client, site)
    assert send(client, site, token, "Do you ship to Canada?").status_code == 201
    with database.transaction(read_only=True) as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
    reply_id = agent_reply(client, make_agent(database), ticket_id, "We do!")
    with database.transaction() as session:
        deliver_message(session, message_id=reply_id)
    with database.transaction(read_only=True) as session:
        assert session.get(Message, reply_id).delivery_state is DeliveryState.SENT
        assert session.scalars(select(Delivery)).one().status is DeliveryStatus.SENT
    messages = client.get("/chat/v1/conversation", headers=site.headers(token)).json()["messages"]
    assert messages[-1]["state"] == "sent"


def test_agent_typing_needs_a_signed_in_agent_who_can_see_the_ticket(client, database):
    legal = make_team(database, "Legal", restricted=True)
    ticket_id = make_ticket(database, team_id=legal, channel=Channel.WEB_CHAT)
    outsider = make_agent(database)
    member = make_agent(database, Role.AGENT, [legal])
    url = f"/api/v1/tickets/{ticket_id}/typing"
    assert client.post(url, json={"typing": True}).status_code == 401
    assert client.post(url, json={"typing": True}, headers=outsider.headers).status_code == 404
    assert client.post(url, json={"typing": True}, headers=member.headers).status_code == 202
    assert client.post("/api/v1/tickets/999999/typing", json={}, headers=member.headers).status_code == 404


def test_only_admins_manage_chat_sites(client, database):
    body = {"name": "Web shop", "allowed_origins": ["https://Shop.Example.com/"]}
    assert client.post("/api/v1/chat/sites", json=body).status_code == 401
    for role in (Role.AGENT, Role.LEAD, Role.MANAGER):
        login = make_agent(database, role)
        for method, url in (
            ("GET", "/api/v1/chat/sites"),
            ("POST", "/api/v1/chat/sites"),
            ("PATCH", "/api/v1/chat/sites/1"),
            ("POST", "/api/v1/chat/sites/1/rotate-secret"),
        ):
            response = client.request(
                method, url, json=body if method != "GET" else None, headers=login.headers
            )
            assert response.status_code == 403, (role, method, url)
    admin = make_agent(database, Role.ADMIN)
    created = client.post("/api/v1/chat/sites", json=body, headers=admin.headers)
    assert created.status_code == 201
    site = created.json()
    assert site["allowed_origins"] == ["https://shop.example.com"]
    assert len(site["secret"]) == 64 and site["public_key"] in site["embed_snippet"]
    listed = client.get("/api/v1/chat/sites", headers=admin.headers).json()
    assert [s["secret"] for s in listed] == [None]  # the secret is shown once
    patched = client.patch(
        f"/api/v1/chat/sites/{site['id']}", json={"greeting": "Hi", "active": False}, headers=admin.headers
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    rotated = client.post(f"/api/v1/chat/sites/{site['id']}/rotate-secret", headers=admin.headers).json()
    assert rotated["secret"] != site["secret"]
    bad = client.post(
        "/api/v1/chat/sites", json={"name": "x", "allowed_origins": ["shop"]}, headers=admin.headers
    )
    assert bad.status_code == 422 and "origin" in bad.json()["error"]["message"]
    # A switched-off site answers no visitor.
    off = client.get("/chat/v1/conversation", headers={"X-Relaydesk-Site-Key": site["public_key"]})
    assert off.status_code == 401


def test_fresh_visitor_tokens_are_limited_per_address(client, site, monkeypatch):
    monkeypatch.setenv("RELAYDESK_CHAT_NEW_VISITORS_PER_MINUTE", "3")
    reset_settings_cache()
    tokens = [new_visitor(client, site) for _ in range(3)]
    refused = client.get("/chat/v1/conversation", headers=site.headers())
    assert refused.status_code == 429 and "retry" in refused.json()["error"]["message"]
    # A visitor who keeps their token is not affected.
    assert client.get("/chat/v1/conversation", headers=site.headers(tokens[0])).status_code == 200
