"""API tokens: scopes limit what a token may do, and a revoked token is refused."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token, revoke_token


def test_read_only_token_cannot_write_and_revoked_token_is_refused(client, database):
    with database.transaction() as session:
        reader = create_token(session, name="reports", role=Role.MANAGER, scopes=frozenset({"read"}))
    headers = {"Authorization": f"Bearer {reader.plaintext}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    response = client.post("/api/v1/customers", json={"name": "x"}, headers=headers)
    assert response.status_code == 403 and "write" in response.json()["error"]["message"]
    with database.transaction() as session:
        revoke_token(session, reader.token.id)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 401
