"""Guards of signed-in sessions that nothing else pins: a session past its absolute age or of a
deactivated agent is refused on pages and the API, and the sign-in and sign-out forms refuse a missing
or forged CSRF token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from relaydesk.agents.models import Agent
from relaydesk.auth.models import AgentSession
from relaydesk.auth.sessions import SESSION_COOKIE
from relaydesk.kit.time import utcnow
from tests.factories import PASSWORD, make_agent, sign_in_form


def signed_in(client, email: str) -> str:
    client.cookies.clear()
    response = sign_in_form(client, email, PASSWORD)
    assert response.status_code == 303, response.text
    return client.cookies[SESSION_COOKIE]


def page_csrf(client) -> str:
    page = client.get("/tickets")
    assert page.status_code == 200, page.text
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def accepted_on_page_and_api(client, cookie: str) -> tuple[bool, bool]:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    page = client.get("/tickets", follow_redirects=False)
    api = client.get("/api/v1/tickets")
    return page.status_code == 200, api.status_code == 200


def test_a_session_past_its_absolute_age_is_refused_although_it_was_just_used(client, database):
    agent = make_agent(database)
    cookie = signed_in(client, agent.email)
    assert accepted_on_page_and_api(client, cookie) == (True, True)
    # Signed in 13 hours ago and busy ever since: never idle, but past the 12-hour absolute age. The
    # cookie's own signature is still valid, so only the server-side record can end it.
    with database.transaction() as session:
        session.execute(update(AgentSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert accepted_on_page_and_api(client, cookie) == (False, False)
    assert client.get("/tickets", follow_redirects=False).headers["location"].startswith("/login")


def test_a_deactivated_agents_session_cookie_is_refused_on_pages_and_the_api(client, database):
    agent = make_agent(database)
    cookie = signed_in(client, agent.email)
    assert accepted_on_page_and_api(client, cookie) == (True, True)
    # Deactivated without its sessions being revoked (an operator's SQL, a path that forgets to revoke):
    # the session lookup itself must refuse an inactive agent.
    with database.transaction() as session:
        session.execute(update(Agent).where(Agent.id == agent.agent_id).values(active=False))
    assert accepted_on_page_and_api(client, cookie) == (False, False)


@pytest.mark.parametrize("token", [None, "forged-token-0123456789"])
def test_the_sign_in_form_refuses_a_missing_or_forged_csrf_token(client, database, token):
    agent = make_agent(database)
    client.get("/login")  # sets the form's CSRF cookie
    form = {"email": agent.email, "password": PASSWORD, "next": "/tickets"}
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 400 and "form expired" in response.text
    assert SESSION_COOKIE not in response.cookies


@pytest.mark.parametrize("path", ["/logout", "/logout/everywhere"])
@pytest.mark.parametrize("token", [None, "forged-token-0123456789"])
def test_the_sign_out_forms_refuse_a_missing_or_forged_csrf_token(client, database, path, token):
    agent = make_agent(database)
    cookie = signed_in(client, agent.email)
    real_token = page_csrf(client)
    response = client.post(path, data={} if token is None else {"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/tickets"
    assert accepted_on_page_and_api(client, cookie) == (True, True)  # still signed in
    client.post(path, data={"csrf_token": real_token}, follow_redirects=False)
    assert accepted_on_page_and_api(client, cookie) == (False, False)
