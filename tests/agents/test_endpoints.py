"""The agents API end to end."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_agent


def test_agents_with_skills_are_created_and_listed(client, database):
    admin = make_agent(database, Role.ADMIN)
    created = client.post(
        "/api/v1/agents",
        json={"email": "sam@example.com", "name": "Sam", "skills": [{"skill": "billing", "level": 3}]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["skills"] == [{"skill": "billing", "level": 3}]
    listed = client.get("/api/v1/agents", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [sam] = [a for a in listed.json() if a["email"] == "sam@example.com"]
    assert sam["skills"] == [{"skill": "billing", "level": 3}]


def test_duplicate_agent_email_is_a_conflict(client, database):
    admin = make_agent(database, Role.ADMIN)
    body = {"email": "twin@example.com", "name": "Twin"}
    assert client.post("/api/v1/agents", json=body, headers=admin.headers).status_code == 201
    response = client.post("/api/v1/agents", json=body, headers=admin.headers)
    assert response.status_code == 409


def test_skills_kept_in_an_update_change_level_in_place(client, database):
    admin = make_agent(database, Role.ADMIN)
    created = client.post(
        "/api/v1/agents",
        json={"email": "lee@example.com", "name": "Lee", "skills": [{"skill": "billing", "level": 2}]},
        headers=admin.headers,
    ).json()
    # Once a 409: the new row for "billing" was inserted before the old one was deleted.
    response = client.patch(
        f"/api/v1/agents/{created['id']}",
        json={"skills": [{"skill": "Billing", "level": 4}, {"skill": "returns", "level": 1}]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["skills"] == [{"skill": "billing", "level": 4}, {"skill": "returns", "level": 1}]
