"""Browsers get HTML error pages; API clients keep the JSON error shape."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from tests.factories import make_agent


def test_an_unknown_page_answers_html_to_a_browser_and_json_to_an_api_client(client):
    browser = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 404 and browser.headers["content-type"].startswith("text/html")
    assert 'data-testid="error-page"' in browser.text and "There is no page at /no/such/page" in browser.text
    api = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert (
        client.get("/api/v1/nothing", headers={"Accept": "text/html"}).json()["error"]["code"] == "not_found"
    )


def test_a_forbidden_page_answers_html_to_a_browser(client, database, agent):
    refused = agent.client.post(  # type: ignore[attr-defined]
        "/macros",
        data={"name": "x", "body": "y"},
        headers={"X-CSRF-Token": agent.csrf, "Accept": "text/html"},
    )
    assert refused.status_code == 403 and 'data-testid="error-page"' in refused.text
    login = make_agent(database, Role.AGENT)
    api = client.post("/api/v1/chat/sites", json={}, headers=login.headers)
    assert api.status_code == 403 and api.json()["error"]["code"] == "permission_denied"


def test_htmx_requests_get_the_error_as_a_fragment(agent):
    fragment = agent.post("/macros", {"name": "x", "body": "y"})
    assert fragment.status_code == 403
    assert 'data-testid="flash"' in fragment.text and "<html" not in fragment.text
