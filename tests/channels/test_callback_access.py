"""The callback queue (GET /api/v1/callbacks) hides a restricted team's callbacks from agents outside it.

Only the HTTP API and the factories: the phone channel's internals are being reshaped elsewhere."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_agent, make_team


def request_callback(client, phone: str) -> int:
    response = client.post("/callbacks/v1/requests", json={"phone": phone, "reason": "Please call me"})
    assert response.status_code == 201, response.text
    return int(response.json()["ticket_id"])


def queued_ids(client, login) -> set[int]:
    response = client.get("/api/v1/callbacks", headers=login.headers)
    assert response.status_code == 200, response.text
    return {ticket["id"] for ticket in response.json()}


def test_a_restricted_tickets_callback_shows_only_to_agents_who_may_see_it(client, database):
    legal = make_team(database, "Legal", restricted=True)
    member = make_agent(database, team_ids=[legal])
    outsider = make_agent(database)
    lead = make_agent(database, Role.LEAD)
    open_callback = request_callback(client, "+14155550111")
    legal_callback = request_callback(client, "+14155550112")
    moved = client.patch(f"/api/v1/tickets/{legal_callback}", json={"team_id": legal}, headers=lead.headers)
    assert moved.status_code == 200, moved.text
    assert queued_ids(client, member) == {open_callback, legal_callback}
    assert queued_ids(client, outsider) == {open_callback}
