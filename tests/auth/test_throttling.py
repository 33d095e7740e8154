"""A wrong password gets a clear message; repeated ones lock the account (429 saying when to retry, even for
the right password) until the lock ends or an admin unlocks it; new passwords must not be common or a few
characters repeated."""

from __future__ import annotations

import json

import pytest

from relaydesk.auth.roles import Role
from relaydesk.settings import reset_settings_cache
from tests.factories import PASSWORD, make_agent, run_cli, sign_in_form


@pytest.fixture
def three_strikes(monkeypatch):
    monkeypatch.setenv("RELAYDESK_LOGIN_ACCOUNT_MAX_FAILURES", "3")
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_account_locks_after_repeated_failures_and_an_admin_unlocks_it(client, database, three_strikes):
    agent = make_agent(database)
    admin = make_agent(database, Role.ADMIN)
    statuses = [sign_in_form(client, agent.email, "wrong-password-1").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    locked = sign_in_form(client, agent.email, PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60
    assert "Try again in 15 minute(s)" in locked.text and "administrator" in locked.text
    unlocked = client.post(f"/api/v1/agents/{agent.agent_id}/unlock", headers=admin.headers)
    assert unlocked.json() == {"agent_id": agent.agent_id, "was_locked": True}
    assert sign_in_form(client, agent.email, PASSWORD).status_code == 303


def test_an_address_is_blocked_after_failures_across_accounts_even_for_a_right_password(
    client, database, monkeypatch
):
    monkeypatch.setenv("RELAYDESK_LOGIN_ADDRESS_MAX_FAILURES", "4")
    reset_settings_cache()
    agents = [make_agent(database) for _ in range(5)]
    # One wrong password for each of four accounts: no account reaches its own limit (10) ...
    statuses = [sign_in_form(client, agent.email, "wrong-password-1").status_code for agent in agents[:4]]
    assert statuses == [401, 401, 401, 429]
    # ... but the address is blocked now, for every account, before any password is checked.
    blocked = sign_in_form(client, agents[4].email, PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60
    assert "from your network address" in blocked.text
    reset_settings_cache()


def test_user_unlock_command_lifts_an_account_lock(client, database, three_strikes):
    agent = make_agent(database)
    for _ in range(3):
        sign_in_form(client, agent.email, "wrong-password-1")
    assert sign_in_form(client, agent.email, PASSWORD).status_code == 429
    out = json.loads(run_cli("user", "unlock", agent.email.upper()).stdout)
    assert out == {"agent_id": agent.agent_id, "email": agent.email, "was_locked": True}
    assert sign_in_form(client, agent.email, PASSWORD).status_code == 303
    again = json.loads(run_cli("user", "unlock", agent.email).stdout)
    assert again["was_locked"] is False
    unknown = run_cli("user", "unlock", "nobody@example.com", check=False)
    assert unknown.returncode != 0 and "No agent with the email" in unknown.stderr


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcabcabcabc", "password123", "1234567890"])
def test_common_and_repeated_passwords_are_refused(client, database, password):
    admin = make_agent(database, Role.ADMIN)
    response = client.post(
        "/api/v1/agents",
        json={"email": "new@example.com", "name": "New", "password": password},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert "choose another" in response.json()["error"]["message"]


def test_wrong_password_shows_a_clear_message(client, database):
    agent = make_agent(database)
    response = sign_in_form(client, agent.email, "nope")
    assert response.status_code == 401
    assert "do not match" in response.text
