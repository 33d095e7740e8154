"""The customers API end to end."""

from __future__ import annotations

from tests.factories import make_agent


def test_identity_owned_by_someone_else_is_a_conflict(client, database):
    agent = make_agent(database)
    first = client.post(
        "/api/v1/customers",
        json={"name": "A", "identities": [{"kind": "email", "value": "a@example.com"}]},
        headers=agent.headers,
    ).json()
    second = client.post("/api/v1/customers", json={"name": "B"}, headers=agent.headers).json()
    response = client.post(
        f"/api/v1/customers/{second['id']}/identities",
        json={"kind": "email", "value": "A@example.com"},
        headers=agent.headers,
    )
    assert response.status_code == 409
    assert str(first["id"]) in response.json()["error"]["message"]
