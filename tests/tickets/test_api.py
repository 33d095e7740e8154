"""The tickets API end to end: create, list and page, update, status moves, messages and attachments."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_agent, make_team


def _create(client, headers, body="My parcel is late", **extra):
    payload = {
        "body": body,
        "customer": {"kind": "email", "value": "buyer@example.com", "name": "Buyer"},
        **extra,
    }
    response = client.post("/api/v1/tickets", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_update_and_timeline(client, database):
    agent = make_agent(database)
    ticket = _create(client, agent.headers, channel="email", priority="high")
    assert ticket["status"] == "new" and ticket["priority"] == "high" and ticket["reply_channel"] == "email"
    patched = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"assignee_id": agent.agent_id, "category": "shipping", "reason": "triage"},
        headers=agent.headers,
    ).json()
    assert patched["assignee_id"] == agent.agent_id and patched["category"] == "shipping"
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=agent.headers).json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["ticket.created", "message.added"]
    assert sorted(kinds[2:]) == ["ticket.assigned", "ticket.category_changed"]
    assigned = next(e for e in events if e["kind"] == "ticket.assigned")
    assert assigned["actor_kind"] == "agent" and assigned["actor_id"] == agent.agent_id
    assert assigned["data"] == {
        "field": "assignee_id",
        "from": None,
        "to": agent.agent_id,
        "reason": "triage",
    }


def test_cursor_pagination_walks_every_ticket_once(client, database):
    agent = make_agent(database)
    created = [_create(client, agent.headers, body=f"Question {i}")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tickets", params=params, headers=agent.headers).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)


def test_list_filters_by_status_and_priority(client, database):
    agent = make_agent(database)
    urgent = _create(client, agent.headers, priority="urgent")["id"]
    _create(client, agent.headers, priority="low")
    client.post(f"/api/v1/tickets/{urgent}/status", json={"status": "open"}, headers=agent.headers)
    items = client.get(
        "/api/v1/tickets", params={"status": ["open"], "priority": ["urgent", "high"]}, headers=agent.headers
    ).json()["items"]
    assert [t["id"] for t in items] == [urgent]


def test_illegal_status_move_is_409_with_the_allowed_moves(client, database):
    agent = make_agent(database)
    ticket = _create(client, agent.headers)
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/status", json={"status": "reopened"}, headers=agent.headers
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "illegal_status_transition"
    assert "open" in error["details"]["allowed"]


def test_validation_errors_name_the_field(client, database):
    agent = make_agent(database)
    response = client.post("/api/v1/tickets", json={"body": "", "customer": {}}, headers=agent.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert "body" in {d["field"] for d in error["details"]}


def test_unknown_ticket_is_404_in_the_error_shape(client, database):
    agent = make_agent(database)
    response = client.get("/api/v1/tickets/999999", headers=agent.headers)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No ticket with id 999999."}}


def test_garbage_cursor_is_a_400_that_says_what_to_do(client, database):
    agent = make_agent(database)
    response = client.get("/api/v1/tickets", params={"cursor": "%%%"}, headers=agent.headers)
    assert response.status_code == 400
    assert "next_cursor" in response.json()["error"]["message"]


def test_internal_note_is_not_queued_for_the_customer(client, database):
    agent = make_agent(database)
    ticket = _create(client, agent.headers)
    note = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "VIP, be careful", "public": False},
        headers=agent.headers,
    ).json()
    reply = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "On it!"}, headers=agent.headers
    ).json()
    assert (note["channel"], note["delivery_state"]) == ("internal", "not_sent")
    assert (reply["channel"], reply["delivery_state"]) == ("api", "queued")
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers).json()["first_response_at"]


def test_attachment_round_trip_and_size_limit(client, database, monkeypatch):
    agent = make_agent(database)
    ticket = _create(client, agent.headers)
    message = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "see file"}, headers=agent.headers
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages/{message['id']}/attachments"
    uploaded = client.post(
        url, files={"file": ("../../etc/passwd", b"label data", "text/plain")}, headers=agent.headers
    )
    assert uploaded.status_code == 201
    assert uploaded.json()["filename"] == "passwd"
    download = client.get(
        f"/api/v1/tickets/{ticket['id']}/attachments/{uploaded.json()['id']}", headers=agent.headers
    )
    assert download.content == b"label data"
    assert download.headers["content-disposition"].startswith("attachment")
    monkeypatch.setenv("RELAYDESK_MAX_UPLOAD_BYTES", "5")
    from relaydesk.settings import reset_settings_cache

    reset_settings_cache()
    too_big = client.post(
        url, files={"file": ("big.bin", b"0123456789", "application/octet-stream")}, headers=agent.headers
    )
    assert too_big.status_code == 413
    assert "RELAYDESK_MAX_UPLOAD_BYTES" in too_big.json()["error"]["message"]


def test_team_restriction_applies_to_agents_who_join_later(client, database):
    legal = make_team(database, "Legal", restricted=True)
    admin = make_agent(database, Role.ADMIN)
    agent = make_agent(database)
    ticket = _create(client, admin.headers, team_id=legal)
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers).status_code == 404
    client.patch(f"/api/v1/agents/{agent.agent_id}", json={"team_ids": [legal]}, headers=admin.headers)
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers).status_code == 200
