"""GET /api/v1/tickets/{id}/triage: what triage decided, for agents who may see the ticket."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_agent, make_team, make_ticket, run_jobs
from tests.triage.test_pipeline import inbound


def test_agents_see_predictions_confidences_versions_impact_and_needs_triage(
    client, database, category_model
):
    ticket_id = inbound(database, "Refund has not reached my card, I returned the item")
    run_jobs(database)
    agent = make_agent(database)

    body = client.get(f"/api/v1/tickets/{ticket_id}/triage", headers=agent.headers).json()
    assert body["triaged"] is True and body["needs_triage"] == []
    category = body["predictions"]["category"]
    assert category["label"] == "refund_request" and category["model_version"] == category_model
    assert category["abstained"] is False and 0 < category["confidence"] <= 1
    assert body["predictions"]["team"]["reason"] == "no active model"
    assert body["language"] == "en" and body["priority"] == "normal"
    assert body["impact"]["similar_customers"] == 0 and body["impact"]["window_minutes"] == 120
    assert body["priority_reasons"] == ["urgency normal (policy default)"]
    assert body["sentiment_label"] in {"negative", "neutral", "positive"}


def test_a_ticket_not_yet_triaged_says_so(client, database):
    ticket_id = make_ticket(database)  # through the API path: no inbound message job
    agent = make_agent(database)
    body = client.get(f"/api/v1/tickets/{ticket_id}/triage", headers=agent.headers).json()
    assert body == {**body, "ticket_id": ticket_id, "triaged": False, "predictions": {}}


def test_triage_of_a_restricted_ticket_follows_the_ticket_visibility_rules(client, database):
    legal = make_team(database, "Legal", restricted=True)
    ticket_id = make_ticket(database, team_id=legal, body="I will sue you")
    url = f"/api/v1/tickets/{ticket_id}/triage"

    assert client.get(url).status_code == 401
    outsider = make_agent(database)
    response = client.get(url, headers=outsider.headers)
    assert response.status_code == 404 and "sue" not in response.text
    assert client.get(url, headers=make_agent(database, team_ids=[legal]).headers).status_code == 200
    assert client.get(url, headers=make_agent(database, Role.MANAGER).headers).status_code == 200
    assert client.get("/api/v1/tickets/999999/triage", headers=outsider.headers).status_code == 404


def test_a_ticket_filed_through_the_api_is_triaged_like_one_from_a_channel(client, database, category_model):
    agent = make_agent(database)
    response = client.post(
        "/api/v1/tickets",
        headers=agent.headers,
        json={
            "customer": {"kind": "email", "value": "phone.caller@example.com"},
            "channel": "phone",
            "body": "Refund has not reached my card, I returned the item",
        },
    )
    assert response.status_code == 201, response.text
    ticket_id = response.json()["id"]
    run_jobs(database)

    body = client.get(f"/api/v1/tickets/{ticket_id}/triage", headers=agent.headers).json()
    assert body["triaged"] is True
    assert body["predictions"]["category"]["label"] == "refund_request"
    assert (
        client.get(f"/api/v1/tickets/{ticket_id}", headers=agent.headers).json()["category"]
        == "refund_request"
    )
