"""The chat WebSocket through Starlette's TestClient: acks, idempotent resends, live replies and typing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from relaydesk.channels.tasks import deliver_message
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.models import Message, Ticket
from tests.channels.chat.conftest import SHOP_ORIGIN, new_visitor
from tests.factories import make_agent


def ws_url(site, token=None, **params):
    query = {"site_key": site.key, **({"visitor_token": token} if token else {}), **params}
    return "/chat/v1/ws?" + urlencode(query)


def test_messages_over_the_socket_are_acknowledged_once_stored_and_replies_arrive_live(
    client, database, site
):
    token = new_visitor(client, site)
    agent = make_agent(database)
    with client.websocket_connect(ws_url(site, token), headers={"origin": SHOP_ORIGIN}) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["messages"] == []

        ws.send_json({"type": "message", "client_id": "sock-00001", "body": "Is the sale still on?"})
        ack = ws.receive_json()
        assert ack["type"] == "ack" and ack["client_id"] == "sock-00001" and ack["duplicate"] is False
        assert ack["message"]["state"] == "delivered" and ack["message"]["author"] == "visitor"

        # The network hiccuped and the widget sent it again: same message, no second copy.
        ws.send_json({"type": "message", "client_id": "sock-00001", "body": "Is the sale still on?"})
        again = ws.receive_json()
        assert again["duplicate"] is True and again["message"]["id"] == ack["message"]["id"]

        with database.transaction(read_only=True) as session:
            ticket_id = session.scalars(select(Ticket.id)).one()
        typing = client.post(
            f"/api/v1/tickets/{ticket_id}/typing", json={"typing": True}, headers=agent.headers
        )
        assert typing.status_code == 202
        frame = ws.receive_json()
        assert frame == {"type": "typing", "ticket_id": ticket_id, "typing": True, "author_name": "Agent"}

        reply = client.post(
            f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Until Sunday!"}, headers=agent.headers
        ).json()
        assert reply["channel"] == "web_chat"  # answered where the customer wrote
        with database.transaction() as session:  # the outbox job, as a worker runs it
            deliver_message(session, message_id=reply["id"])
        live = ws.receive_json()
        assert live["type"] == "message"
        assert live["message"]["body"] == "Until Sunday!" and live["message"]["state"] == "sent"

        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}

    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_a_reconnecting_socket_gets_what_it_missed(client, database, site):
    token = new_visitor(client, site)
    first = client.post(
        "/chat/v1/messages", json={"client_id": "miss-00001", "body": "first"}, headers=site.headers(token)
    ).json()
    client.post(
        "/chat/v1/messages", json={"client_id": "miss-00002", "body": "second"}, headers=site.headers(token)
    )
    with client.websocket_connect(ws_url(site, token, after=first["message"]["id"])) as ws:
        ready = ws.receive_json()
        assert [m["body"] for m in ready["messages"]] == ["second"]


def test_bad_frames_get_error_frames_and_the_socket_stays_open(client, site, monkeypatch):
    monkeypatch.setenv("RELAYDESK_CHAT_MESSAGES_PER_MINUTE", "1")
    reset_settings_cache()
    token = new_visitor(client, site)
    with client.websocket_connect(ws_url(site, token)) as ws:
        ws.receive_json()
        ws.send_text("not json")
        assert ws.receive_json()["error"]["code"] == "bad_request"
        ws.send_json({"type": "message", "client_id": "x", "body": "hi"})
        invalid = ws.receive_json()
        assert invalid["error"]["code"] == "validation_failed" and "client_id" in invalid["error"]["message"]
        ws.send_json({"type": "message", "client_id": "frame-0001", "body": "z" * 5001})
        assert ws.receive_json()["error"]["code"] == "payload_too_large"
        ws.send_json({"type": "message", "client_id": "frame-0002", "body": "ok"})
        assert ws.receive_json()["type"] == "ack"
        ws.send_json({"type": "message", "client_id": "frame-0003", "body": "too fast"})
        limited = ws.receive_json()
        assert limited["error"]["code"] == "rate_limited" and limited["client_id"] == "frame-0003"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_too_many_frames_on_one_connection_are_refused(client, site, monkeypatch):
    monkeypatch.setenv("RELAYDESK_CHAT_FRAMES_PER_MINUTE", "2")
    reset_settings_cache()
    with client.websocket_connect(ws_url(site, new_visitor(client, site))) as ws:
        ws.receive_json()
        ws.send_json({"type": "ping"})
        ws.send_json({"type": "ping"})
        assert [ws.receive_json(), ws.receive_json()] == [{"type": "pong"}] * 2
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("params", "headers", "close_code", "error_code"),
    [
        ({}, {"origin": "https://evil.example"}, 4403, "permission_denied"),
        ({"visitor_token": "v_forged.signature"}, {}, 4401, "not_authenticated"),
        ({"user_id": "u1", "user_hash": "00" * 32}, {}, 4403, "input_rejected"),
    ],
    ids=["foreign-origin", "forged-token", "bad-identity-hash"],
)
def test_refused_connections_are_told_why_and_closed(client, site, params, headers, close_code, error_code):
    with client.websocket_connect(ws_url(site, **params), headers=headers) as ws:
        assert ws.receive_json()["error"]["code"] == error_code
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == close_code


def test_with_redis_replies_and_typing_reach_a_socket_held_by_another_server_process(
    database, site, monkeypatch
):
    """Scale-out: the socket is on server A; typing comes through server B and a reply from a worker."""
    import os
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from relaydesk.app import create_app

    redis_url = os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("RELAYDESK_REDIS_URL", redis_url)
    reset_settings_cache()
    agent = make_agent(database)
    with TestClient(create_app()) as server_a, TestClient(create_app()) as server_b:
        token = new_visitor(server_a, site)
        with server_a.websocket_connect(ws_url(site, token)) as ws:
            ws.receive_json()
            ws.send_json({"type": "message", "client_id": "redis-0001", "body": "Anyone there?"})
            assert ws.receive_json()["type"] == "ack"
            with database.transaction(read_only=True) as session:
                ticket = session.scalars(select(Ticket)).one()
                ticket_id, customer_id = ticket.id, ticket.customer_id

            typing = server_b.post(f"/api/v1/tickets/{ticket_id}/typing", json={}, headers=agent.headers)
            assert typing.status_code == 202
            assert ws.receive_json()["type"] == "typing"

            # A standalone worker process has no event loop of its own: it publishes to Redis directly.
            event = {"type": "message", "message": {"id": 999, "author": "agent", "body": "From the worker"}}
            code = (
                "from relaydesk.channels.chat import live; "
                f"live.publish_from_thread(live.customer_channel({customer_id}), {event!r})"
            )
            subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ}, timeout=60)
            assert ws.receive_json()["message"]["body"] == "From the worker"


def test_a_socket_opened_before_the_first_message_follows_the_customer_it_becomes(client, database, site):
    """The visitor writes from another tab (or over REST) first: this socket still gets the replies."""
    token = new_visitor(client, site)
    agent = make_agent(database)
    with client.websocket_connect(ws_url(site, token)) as ws:
        assert ws.receive_json()["type"] == "ready"  # not a customer yet
        sent = client.post(
            "/chat/v1/messages",
            json={"client_id": "tab2-00001", "body": "From my other tab"},
            headers=site.headers(token),
        )
        assert sent.status_code == 201
        echoed = ws.receive_json()
        assert echoed["type"] == "message" and echoed["message"]["body"] == "From my other tab"
        assert "customer_id" not in echoed and "via" not in echoed
        with database.transaction(read_only=True) as session:
            ticket_id = session.scalars(select(Ticket.id)).one()
        client.post(f"/api/v1/tickets/{ticket_id}/typing", json={"typing": True}, headers=agent.headers)
        assert ws.receive_json()["type"] == "typing"


def test_an_app_talks_in_app_over_the_socket_with_its_signed_identity(client, database, site):
    from relaydesk.channels.chat.identity import user_hash
    from relaydesk.tickets.enums import Channel

    params = {"channel": "in_app", "user_id": "app-user-9", "user_hash": user_hash(site.secret, "app-user-9")}
    agent = make_agent(database)
    with client.websocket_connect(ws_url(site, **params)) as ws:  # apps send no Origin
        ready = ws.receive_json()
        assert ready["verified"] is True and ready["visitor_id"].startswith("u_")
        ws.send_json({"type": "message", "client_id": "app-000001", "body": "Hi from the app"})
        assert ws.receive_json()["type"] == "ack"
        with database.transaction(read_only=True) as session:
            ticket = session.scalars(select(Ticket)).one()
            assert ticket.channel is Channel.IN_APP and ticket.reply_channel is Channel.IN_APP
        reply = client.post(
            f"/api/v1/tickets/{ticket.id}/messages", json={"body": "Hello app"}, headers=agent.headers
        ).json()
        assert reply["channel"] == "in_app"
        with database.transaction() as session:
            deliver_message(session, message_id=reply["id"])
        assert ws.receive_json()["message"]["body"] == "Hello app"


@pytest.mark.parametrize("hub", ["in_process", "redis"])
def test_a_reply_to_one_visitor_never_reaches_another_visitor_s_socket(database, site, monkeypatch, hub):
    """Two visitors, two sockets: each sees only their own conversation's replies and typing."""
    import os

    from fastapi.testclient import TestClient

    from relaydesk.app import create_app

    if hub == "redis":
        redis_url = os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        monkeypatch.setenv("RELAYDESK_REDIS_URL", redis_url)
        reset_settings_cache()
    agent = make_agent(database)
    with TestClient(create_app()) as client:
        ann, bob = new_visitor(client, site), new_visitor(client, site)
        with (
            client.websocket_connect(ws_url(site, ann), headers={"origin": SHOP_ORIGIN}) as ann_ws,
            client.websocket_connect(ws_url(site, bob), headers={"origin": SHOP_ORIGIN}) as bob_ws,
        ):
            tickets = {}
            for name, ws in (("ann", ann_ws), ("bob", bob_ws)):
                assert ws.receive_json()["type"] == "ready"
                ws.send_json({"type": "message", "client_id": f"{name}-000001", "body": f"I am {name}"})
                ack = ws.receive_json()
                assert ack["type"] == "ack", f"{name}'s socket got another visitor's event: {ack}"
                with database.transaction(read_only=True) as session:
                    tickets[name] = session.get(Message, ack["message"]["id"]).ticket_id

            def reply(name: str, body: str) -> None:
                sent = client.post(
                    f"/api/v1/tickets/{tickets[name]}/messages", json={"body": body}, headers=agent.headers
                ).json()
                with database.transaction() as session:  # the outbox job, as a worker runs it
                    deliver_message(session, message_id=sent["id"])

            typing = client.post(f"/api/v1/tickets/{tickets['ann']}/typing", json={}, headers=agent.headers)
            assert typing.status_code == 202
            reply("ann", "For Ann only")
            assert ann_ws.receive_json()["type"] == "typing"
            assert ann_ws.receive_json()["message"]["body"] == "For Ann only"

            # Events reach a socket in publishing order: had Ann's typing or reply leaked to Bob's
            # socket, it would come before Bob's own reply.
            reply("bob", "For Bob")
            first = bob_ws.receive_json()
            assert first["type"] == "message" and first["message"]["body"] == "For Bob", first
            ann_ws.send_json({"type": "ping"})
            assert ann_ws.receive_json() == {"type": "pong"}
