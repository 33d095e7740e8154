"""Sign-in sessions end on the server: logout, sign out everywhere, password change, idle time; a cookie
session writes only with its CSRF token."""

from __future__ import annotations

import time

from relaydesk.auth.roles import Role
from relaydesk.auth.sessions import SESSION_COOKIE
from relaydesk.settings import reset_settings_cache
from tests.factories import PASSWORD, make_agent, sign_in_form


def _signed_in_cookie(client, email: str) -> str:
    client.cookies.clear()
    response = sign_in_form(client, email, PASSWORD)
    assert response.status_code == 303, response.text
    return client.cookies[SESSION_COOKIE]


def _works(client, cookie: str) -> bool:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client.get("/api/v1/tickets").status_code == 200


def test_old_cookie_stops_working_after_logout(client, database):
    agent = make_agent(database)
    cookie = _signed_in_cookie(client, agent.email)
    page = client.get("/tickets")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert not _works(client, cookie)
    refused = client.post("/api/v1/tickets", json={}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 401


def test_sign_out_everywhere_ends_every_session_of_that_agent_only(database):
    from fastapi.testclient import TestClient

    from relaydesk.app import create_app

    agent = make_agent(database)
    other = make_agent(database, Role.LEAD)
    with TestClient(create_app()) as laptop, TestClient(create_app()) as phone:
        laptop_cookie = _signed_in_cookie(laptop, agent.email)
        phone_cookie = _signed_in_cookie(phone, agent.email)
        other_cookie = _signed_in_cookie(phone, other.email)
        revoked = laptop.post("/api/v1/me/sessions/revoke", headers=agent.headers)
        assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
        assert not _works(laptop, laptop_cookie) and not _works(phone, phone_cookie)
        assert _works(phone, other_cookie)


def test_idle_session_expires_on_the_server(client, database, monkeypatch):
    agent = make_agent(database)
    monkeypatch.setenv("RELAYDESK_SESSION_IDLE_SECONDS", "1")
    reset_settings_cache()
    cookie = _signed_in_cookie(client, agent.email)
    assert _works(client, cookie)
    time.sleep(2.1)
    assert not _works(client, cookie)


def test_cookie_session_needs_the_csrf_header_for_writes(client, database):
    agent = make_agent(database)
    assert sign_in_form(client, agent.email, PASSWORD).status_code == 303
    assert client.get("/api/v1/tickets").status_code == 200  # reads work with the cookie alone
    body = {"name": "Walk-in"}
    assert client.post("/api/v1/customers", json=body).status_code == 403
    page = client.get("/tickets")
    token = page.text.split('"X-CSRF-Token": "')[1].split('"')[0]
    assert client.post("/api/v1/customers", json=body, headers={"X-CSRF-Token": token}).status_code == 201
