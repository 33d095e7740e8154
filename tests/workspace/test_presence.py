"""The presence selector in the page header: shown to signed-in agents, changed over htmx."""

from __future__ import annotations

import html
import re

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from tests.factories import make_agent, sign_in_agent


def _status(database, agent_id: int) -> AgentStatus:
    with database.transaction() as session:
        return agents.get_agent(session, agent_id).status


def test_header_shows_the_selector_with_every_status(client, database):
    login = make_agent(database)
    sign_in_agent(client, login)
    page = client.get("/tickets").text
    assert 'data-testid="presence"' in page
    options = re.findall(
        r'<option value="(\w+)"', page.split('id="presence-status"')[1].split("</select>")[0]
    )
    assert options == [s.value for s in AgentStatus]
    assert '<option value="offline" selected>' in page  # a new agent starts offline


def test_agent_changes_presence_from_the_header(client, database, clock):
    login = make_agent(database)
    csrf = sign_in_agent(client, login)
    response = client.post(
        "/presence", data={"status": "online"}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert response.status_code == 200, response.text
    assert '<option value="online" selected>' in response.text
    assert "presence-dot online" in response.text
    assert _status(database, login.agent_id) is AgentStatus.ONLINE
    with database.transaction() as session:
        assert agents.get_agent(session, login.agent_id).status_changed_at == clock.now()
    # A plain form post (no JavaScript) carries the token in the form instead.
    response = client.post("/presence", data={"status": "busy", "csrf_token": csrf})
    assert response.status_code == 200
    assert _status(database, login.agent_id) is AgentStatus.BUSY


def test_presence_change_without_the_csrf_token_is_refused(client, database):
    login = make_agent(database)
    sign_in_agent(client, login)
    response = client.post("/presence", data={"status": "online"})
    assert response.status_code == 403
    assert "reload" in response.text
    assert response.headers["HX-Refresh"] == "true"
    assert _status(database, login.agent_id) is AgentStatus.OFFLINE


def test_unknown_presence_is_refused_with_the_choices(client, database):
    login = make_agent(database)
    csrf = sign_in_agent(client, login)
    response = client.post("/presence", data={"status": "lunch"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422
    assert "'lunch' is not a status; choose online, away, busy, offline." in html.unescape(response.text)


def test_signed_out_presence_change_goes_to_sign_in(client, database):
    response = client.post("/presence", data={"status": "online"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"
