"""The agent WebSocket ``/ws/agent``: who may connect, what a watched ticket streams, and to whom."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.websockets import WebSocketDisconnect

from relaydesk.auth.roles import Role
from tests.factories import make_agent, make_team, make_ticket, sign_in_agent
from tests.workspace.conftest import (
    agent_session_cookie,
    next_agent_frame,
    on_plain_thread,
    open_agent_socket,
)


@pytest.mark.parametrize(
    ("signed_in", "origin", "close_code", "error_code"),
    [
        (False, "http://testserver", 4401, "not_authenticated"),
        (True, "https://evil.example", 4403, "permission_denied"),
        (True, None, 4403, "permission_denied"),
    ],
    ids=["no-session", "forged-origin", "no-origin"],
)
def test_refused_connections_are_told_why_and_closed(
    client, database, signed_in, origin, close_code, error_code
):
    cookie = agent_session_cookie(client, make_agent(database)) if signed_in else None
    with open_agent_socket(client, cookie, origin=origin) as ws:
        assert ws.receive_json()["error"]["code"] == error_code
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == close_code


def test_a_signed_out_session_cookie_is_refused(client, database):
    login = make_agent(database)
    csrf = sign_in_agent(client, login)
    cookie = client.cookies.get("relaydesk_session")
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    client.cookies.clear()
    with open_agent_socket(client, cookie) as ws:
        assert ws.receive_json()["error"]["code"] == "not_authenticated"


def test_a_watched_ticket_streams_a_rest_reply_and_a_note_after_they_commit(client, database):
    login = make_agent(database)
    ticket_id = make_ticket(database)
    with open_agent_socket(client, agent_session_cookie(client, login)) as ws:
        assert ws.receive_json() == {"type": "ready", "agent_id": login.agent_id}
        ws.send_json({"type": "watch", "ticket_id": ticket_id})
        assert next_agent_frame(ws, "watching") == {"type": "watching", "ticket_id": ticket_id}

        reply = client.post(
            f"/api/v1/tickets/{ticket_id}/messages", json={"body": "On it!"}, headers=login.headers
        )
        assert reply.status_code == 201, reply.text
        event = next_agent_frame(ws, "ticket")["event"]
        assert event == {
            "type": "message",
            "ticket_id": ticket_id,
            "kind": "message.added",
            "message_id": reply.json()["id"],
            "public": True,
            "channel": "email",
        }
        note = client.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            json={"body": "Customer sounds upset", "public": False},
            headers=login.headers,
        )
        event = next_agent_frame(ws, "ticket")["event"]
        assert event["kind"] == "note.added" and event["message_id"] == note.json()["id"]
        assert event["public"] is False
        assert "Customer sounds upset" not in str(event)  # ids only: the page reloads the text

        ws.send_json({"type": "ping"})
        assert next_agent_frame(ws, "pong") == {"type": "pong"}


def test_any_ticket_change_tells_every_agent_socket_to_refresh_its_counts(client, database):
    login = make_agent(database)
    ticket_id = make_ticket(database)
    with open_agent_socket(client, agent_session_cookie(client, login)) as ws:
        ws.receive_json()
        client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "high"}, headers=login.headers)
        assert ws.receive_json() == {"type": "inbox"}  # names no ticket


def test_a_restricted_team_s_ticket_is_not_streamed_to_an_outsider(client, database):
    legal = make_team(database, "Legal", restricted=True)
    restricted = make_ticket(database, team_id=legal, email="claimant@example.com")
    open_ticket = make_ticket(database, email="shopper@example.com")
    outsider = make_agent(database)
    member = make_agent(database, team_ids=[legal])
    manager = make_agent(database, Role.MANAGER)
    with (
        open_agent_socket(client, agent_session_cookie(client, outsider)) as ws_out,
        open_agent_socket(client, agent_session_cookie(client, member)) as ws_member,
    ):
        ws_out.receive_json()
        ws_member.receive_json()
        ws_out.send_json({"type": "watch", "ticket_id": restricted})
        refused = next_agent_frame(ws_out, "error")
        assert refused["error"]["code"] == "not_found"  # as for a ticket that does not exist
        ws_out.send_json({"type": "watch", "ticket_id": open_ticket})
        next_agent_frame(ws_out, "watching")
        ws_member.send_json({"type": "watch", "ticket_id": restricted})
        next_agent_frame(ws_member, "watching")

        note = {"body": "Counsel says wait", "public": False}
        posted = client.post(f"/api/v1/tickets/{restricted}/messages", json=note, headers=manager.headers)
        assert posted.status_code == 201
        client.post(f"/api/v1/tickets/{open_ticket}/messages", json=note, headers=manager.headers)

        # The member hears of the restricted note; the outsider's next ticket event is the open one's.
        assert next_agent_frame(ws_member, "ticket")["event"]["ticket_id"] == restricted
        assert next_agent_frame(ws_out, "ticket")["event"]["ticket_id"] == open_ticket


def test_a_watched_ticket_that_moves_into_a_restricted_team_stops_streaming(client, database):
    legal = make_team(database, "Legal", restricted=True)
    ticket_id = make_ticket(database)
    outsider = make_agent(database)
    manager = make_agent(database, Role.MANAGER)
    with open_agent_socket(client, agent_session_cookie(client, outsider)) as ws:
        ws.receive_json()
        ws.send_json({"type": "watch", "ticket_id": ticket_id})
        next_agent_frame(ws, "watching")
        moved = client.patch(f"/api/v1/tickets/{ticket_id}", json={"team_id": legal}, headers=manager.headers)
        assert moved.status_code == 200, moved.text
        gone = next_agent_frame(ws, "unwatched", "ticket")
        assert gone["type"] == "unwatched" and gone["ticket_id"] == ticket_id


def test_bad_frames_get_error_frames_and_the_socket_stays_open(client, database):
    with open_agent_socket(client, agent_session_cookie(client, make_agent(database))) as ws:
        ws.receive_json()
        ws.send_text("not json")
        assert ws.receive_json()["error"]["code"] == "bad_request"
        ws.send_json({"type": "watch", "ticket_id": "42"})
        assert ws.receive_json()["error"]["code"] == "bad_request"
        ws.send_json({"type": "typing", "ticket_id": 42, "typing": True})
        assert ws.receive_json()["error"]["code"] == "bad_request"  # not watched
        ws.send_text('{"type": "ping", "pad": "' + "x" * 5000 + '"}')
        assert ws.receive_json()["error"]["code"] == "payload_too_large"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_two_agents_on_one_ticket_see_each_other_and_who_is_typing(client, database):
    ticket_id = make_ticket(database)
    ana, ben = make_agent(database), make_agent(database)
    with open_agent_socket(client, agent_session_cookie(client, ana)) as ws_ana:
        ws_ana.receive_json()
        ws_ana.send_json({"type": "watch", "ticket_id": ticket_id})
        next_agent_frame(ws_ana, "watching")
        with open_agent_socket(client, agent_session_cookie(client, ben)) as ws_ben:
            ws_ben.receive_json()
            ws_ben.send_json({"type": "watch", "ticket_id": ticket_id})
            # Each sees the other at once: Ben's hello, and Ana's answer to it.
            seen_by_ana = next_agent_frame(ws_ana, "presence")
            assert [v["agent_id"] for v in seen_by_ana["viewers"]] == [ben.agent_id]
            seen_by_ben = next_agent_frame(ws_ben, "presence")
            assert seen_by_ben["viewers"] == [
                {"agent_id": ana.agent_id, "name": seen_by_ben["viewers"][0]["name"], "typing": False}
            ]

            ws_ben.send_json({"type": "typing", "ticket_id": ticket_id, "typing": True})
            typing = next_agent_frame(ws_ana, "presence")
            assert typing["viewers"][0]["typing"] is True
        # Ben left: Ana's warning clears.
        assert next_agent_frame(ws_ana, "presence")["viewers"] == []


def test_a_viewer_whose_heartbeats_stop_is_dropped_after_the_presence_ttl(
    client, database, clock, monkeypatch
):
    """A viewer on another process that crashed says no goodbye: its last heartbeat expires."""
    from relaydesk.realtime.channels import ticket_channel
    from relaydesk.realtime.fanout import publish_from_thread
    from relaydesk.workspace import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    ticket_id = make_ticket(database)
    with open_agent_socket(client, agent_session_cookie(client, make_agent(database))) as ws:
        ws.receive_json()
        ws.send_json({"type": "watch", "ticket_id": ticket_id})
        next_agent_frame(ws, "watching")
        ghost = {"type": "presence", "ticket_id": ticket_id, "socket": "elsewhere", "agent_id": 999_999}
        on_plain_thread(
            publish_from_thread, ticket_channel(ticket_id), {**ghost, "name": "Gone Agent", "typing": False}
        )
        assert next_agent_frame(ws, "presence")["viewers"][0]["name"] == "Gone Agent"
        clock.advance(live.PRESENCE_TTL + timedelta(seconds=1))
        assert next_agent_frame(ws, "presence")["viewers"] == []


def test_with_redis_two_agents_on_two_server_processes_see_each_other(database, monkeypatch):
    """Scale-out: presence travels on the ticket's fan-out channel, which Redis carries between servers."""
    import os

    from fastapi.testclient import TestClient

    from relaydesk.app import create_app
    from relaydesk.settings import reset_settings_cache

    monkeypatch.setenv(
        "RELAYDESK_REDIS_URL", os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    reset_settings_cache()
    ticket_id = make_ticket(database)
    ana, ben = make_agent(database), make_agent(database)
    with (
        TestClient(create_app()) as server_a,
        TestClient(create_app()) as server_b,
        open_agent_socket(server_a, agent_session_cookie(server_a, ana)) as ws_ana,
    ):
        ws_ana.receive_json()
        ws_ana.send_json({"type": "watch", "ticket_id": ticket_id})
        next_agent_frame(ws_ana, "watching")
        with open_agent_socket(server_b, agent_session_cookie(server_b, ben)) as ws_ben:
            ws_ben.receive_json()
            ws_ben.send_json({"type": "watch", "ticket_id": ticket_id})
            assert [v["agent_id"] for v in next_agent_frame(ws_ana, "presence")["viewers"]] == [ben.agent_id]
            assert [v["agent_id"] for v in next_agent_frame(ws_ben, "presence")["viewers"]] == [ana.agent_id]
            # A note written through server B reaches Ana's socket on server A.
            server_b.post(
                f"/api/v1/tickets/{ticket_id}/messages",
                json={"body": "Hi", "public": False},
                headers=ben.headers,
            )
            assert next_agent_frame(ws_ana, "ticket")["event"]["kind"] == "note.added"
    reset_settings_cache()
