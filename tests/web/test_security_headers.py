"""Security headers on every kind of response, and the API reference pages served from this server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from relaydesk.settings import reset_settings_cache

EVERY_RESPONSE = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),  # a page
        ("GET", "/help/en", 200),  # the public help center
        ("GET", "/api/v1/tickets", 401),  # the API, an error
        ("GET", "/static/htmx.min.js", 200),  # a static file
        ("GET", "/no-such-page", 404),
        ("GET", "/docs", 200),
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, status):
    response = client.request(method, path)
    assert response.status_code == status
    for name, value in EVERY_RESPONSE.items():
        assert response.headers[name] == value
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy  # no inline script, no eval
    assert "Strict-Transport-Security" not in response.headers  # not over plain HTTP in development


def test_a_refused_body_carries_the_security_headers(client):
    response = client.post("/api/v1/tickets", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.headers["X-Frame-Options"] == "DENY"


def test_api_docs_load_every_asset_from_this_server(client):
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), f"{path} loads from elsewhere"
        assert "<script>" not in page.text  # the CSP runs no inline script
        assets = re.findall(r"""(?:src|href)="([^"]+)\"""", page.text)
        assert assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").status_code == 200


@pytest.fixture
def production(monkeypatch, database):
    monkeypatch.setenv("RELAYDESK_ENV", "production")
    reset_settings_cache()
    yield monkeypatch
    reset_settings_cache()


def test_production_sends_hsts_and_hides_the_api_docs(production):
    from relaydesk.app import create_app

    with TestClient(create_app()) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 404
        response = client.get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_shows_the_api_docs_when_the_setting_says_so(production):
    from relaydesk.app import create_app

    production.setenv("RELAYDESK_DOCS_ENABLED", "true")
    reset_settings_cache()
    with TestClient(create_app()) as client:
        assert client.get("/docs").status_code == 200


@pytest.mark.browser
@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
def test_api_docs_render_in_chromium_under_the_policy(page, live_server, path, rendered):
    # The page fixture fails the test on any Content-Security-Policy violation.
    page.goto(f"{live_server}{path}")
    page.wait_for_selector(rendered, timeout=20_000)
