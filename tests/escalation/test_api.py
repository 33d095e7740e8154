"""REST /api/v1/tickets/{id}/escalations: list, escalate, acknowledge, de-escalate; expected conflicts are
4xx with a message that says what to do, and a restricted team's tickets stay out of sight."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_team
from tests.routing.conftest import accept_as, offer_of, queued_ticket, routing_agent, routing_team

BASE = "/api/v1/tickets/{}/escalations"


def test_escalate_acknowledge_and_de_escalate_through_the_api(client, database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = queued_ticket(database, team_id=support)
    accept_as(database, *offer_of(database, ticket_id))
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))
    url = BASE.format(ticket_id)

    created = client.post(
        url, json={"reason": "needs_expertise", "note": "Over my head"}, headers=front.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["from_level"], body["to_level"], body["ack_state"]) == ("frontline", "tier2", "awaiting")
    assert body["note"] == "Over my head" and body["actor_id"] == front.agent_id

    # Not the receiver: the frontline agent who sent it.
    refused = client.post(f"{url}/acknowledge", headers=front.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_the_receiver"

    accept_as(database, *offer_of(database, ticket_id))
    acked = client.post(f"{url}/acknowledge", headers=second.headers)
    assert acked.status_code == 200 and acked.json()["acknowledged_by_id"] == second.agent_id
    twice = client.post(f"{url}/acknowledge", headers=second.headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_acknowledged"

    down = client.post(f"{url}/de-escalate", json={"note": "Done: refund issued"}, headers=second.headers)
    assert down.status_code == 201 and down.json()["to_level"] == "frontline"
    at_bottom = client.post(f"{url}/de-escalate", json={"note": "again"}, headers=front.headers)
    assert at_bottom.status_code == 409
    assert "bottom of its path" in at_bottom.json()["error"]["message"]

    history = client.get(url, headers=front.headers)
    assert [(e["move"], e["to_level"]) for e in history.json()] == [("up", "tier2"), ("down", "frontline")]


def test_bad_input_is_a_422_that_names_what_to_fix(client, database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = queued_ticket(database, team_id=support)
    url = BASE.format(ticket_id)

    unknown_reason = client.post(url, json={"reason": "bored"}, headers=front.headers)
    assert unknown_reason.status_code == 422
    assert "choose one of: needs_expertise" in unknown_reason.json()["error"]["message"]
    unknown_level = client.post(
        url, json={"reason": "needs_expertise", "to_level": "ceo"}, headers=front.headers
    )
    assert unknown_level.status_code == 422
    no_such_team = client.post(
        url, json={"reason": "wrong_team", "to_team_id": 999_999}, headers=front.headers
    )
    assert no_such_team.status_code == 422 and "no team 999999" in no_such_team.json()["error"]["message"]
    empty_note = client.post(f"{url}/de-escalate", json={"note": "   "}, headers=front.headers)
    assert empty_note.status_code == 422
    nothing_awaits = client.post(f"{url}/acknowledge", headers=front.headers)
    assert nothing_awaits.status_code == 409
    missing = client.get(BASE.format(999_999), headers=front.headers)
    assert missing.status_code == 404


def test_an_agent_outside_the_legal_team_can_neither_see_nor_act_on_a_legal_ticket(
    client, database, paths, clock
):
    support = routing_team(database, "Support")
    legal = make_team(database, "Legal", restricted=True)
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    counsel = routing_agent(database, "Counsel", tier=1, team_ids=(legal,))
    manager = routing_agent(database, "Boss", tier=3, role=Role.MANAGER, team_ids=(support,), online=False)
    ticket_id = queued_ticket(database, team_id=support)
    url = BASE.format(ticket_id)

    sent = client.post(
        url,
        json={"reason": "legal_threat", "to_level": "legal", "note": "Lawyer letter"},
        headers=front.headers,
    )
    assert sent.status_code == 201 and sent.json()["to_level"] == "legal"

    # The sender sees the move answered, and from then on the ticket as missing.
    for attempt in (
        client.get(url, headers=front.headers),
        client.post(f"{url}/acknowledge", headers=front.headers),
        client.post(f"{url}/de-escalate", json={"note": "mine again"}, headers=front.headers),
        client.post(url, json={"reason": "needs_expertise"}, headers=front.headers),
    ):
        assert attempt.status_code == 404, attempt.text
    assert client.get(url, headers=manager.headers).status_code == 200  # managers see restricted work
    assert offer_of(database, ticket_id)[1] == counsel.agent_id
    accept_as(database, *offer_of(database, ticket_id))
    assert client.post(f"{url}/acknowledge", headers=counsel.headers).status_code == 200


def test_every_escalation_route_asks_who_is_calling(client, database, paths, clock):
    ticket_id = queued_ticket(database)
    for method, path in (
        ("GET", BASE.format(ticket_id)),
        ("POST", BASE.format(ticket_id)),
        ("POST", f"/api/v1/tickets/{ticket_id}/escalations/acknowledge"),
        ("POST", f"/api/v1/tickets/{ticket_id}/escalations/de-escalate"),
    ):
        response = client.request(method, path, json={"reason": "needs_expertise", "note": "n"})
        assert response.status_code == 401, (method, path)


def test_acknowledging_needs_an_agent_not_an_integration_token(client, database, paths, clock):
    from relaydesk.auth.tokens import create_token

    ticket_id = queued_ticket(database)
    with database.transaction() as session:
        token = create_token(session, name="integration", role=Role.ADMIN).plaintext
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/escalations/acknowledge", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403 and "acts for an agent" in response.json()["error"]["message"]
