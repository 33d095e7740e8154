"""The demo shop page exists only where the demo is enabled, and signs only the demo's own customer."""

from __future__ import annotations

import pytest

from relaydesk.app import create_app
from relaydesk.channels.chat import service
from relaydesk.channels.chat.identity import user_hash
from relaydesk.channels.chat.pages import DEMO_SIGNED_IN_USER, DEMO_SITE_KEY, ensure_demo_site
from relaydesk.settings import SettingsError, get_settings, reset_settings_cache


def _paths(routes) -> set[str]:
    found: set[str] = set()
    for route in routes:
        # Included routers (FastAPI keeps them as branches): their routes, which carry no prefix here.
        original = getattr(route, "original_router", None)
        found |= _paths(original.routes) if original is not None else {getattr(route, "path", "")}
    return found


def _demo_paths() -> list[str]:
    return sorted(path for path in _paths(create_app().routes) if "demo" in path)


@pytest.fixture
def demo_disabled(database, monkeypatch):
    monkeypatch.delenv("RELAYDESK_DEMO_ENABLED", raising=False)
    reset_settings_cache()
    with database.transaction() as session:
        ensure_demo_site(session)
    yield
    reset_settings_cache()


def test_every_demo_page_answers_404_unless_the_demo_is_enabled(client, demo_disabled):
    paths = _demo_paths()
    assert paths  # the demo shop at least
    for path in paths:
        response = client.get(path, params={"user": "customer-1001"})
        assert response.status_code == 404, path
        assert "data-user-hash" not in response.text


def test_demo_page_signs_only_the_fixed_demo_customer(client, demo_site):
    with_any_user = client.get("/chat/demo", params={"user": "someone-else-42"})
    assert with_any_user.status_code == 200
    assert "someone-else-42" not in with_any_user.text and "data-user-hash" not in with_any_user.text

    signed_in = client.get("/chat/demo", params={"signed_in": "true", "user": "someone-else-42"})
    assert signed_in.status_code == 200
    assert f'data-user-id="{DEMO_SIGNED_IN_USER}"' in signed_in.text
    assert "someone-else-42" not in signed_in.text


def test_demo_hash_is_the_demo_sites_hash_of_the_fixed_customer(client, database, demo_site):
    with database.transaction(read_only=True) as session:
        secret = service.site_by_key(session, DEMO_SITE_KEY).secret
    page = client.get("/chat/demo", params={"signed_in": "true"}).text
    assert f'data-user-hash="{user_hash(secret, DEMO_SIGNED_IN_USER)}"' in page


def test_production_refuses_the_demo(monkeypatch):
    monkeypatch.setenv("RELAYDESK_ENV", "production")
    monkeypatch.setenv("RELAYDESK_DEMO_ENABLED", "true")
    reset_settings_cache()
    try:
        with pytest.raises(SettingsError, match="RELAYDESK_DEMO_ENABLED"):
            get_settings()
    finally:
        reset_settings_cache()
