"""Registry API and admin page: admins only, promote / rollback / shadow through HTTP."""

from __future__ import annotations

import pytest

from relaydesk.auth.roles import Role
from relaydesk.classification import service
from relaydesk.classification.classifier import TrainingOptions
from tests.classification.conftest import read_rows
from tests.factories import make_agent, sign_in_agent

FAST = TrainingOptions(use_embeddings=False, folds=3)


@pytest.fixture
def registry(database, clinc_slice):
    """Head "category" with version 1 active and version 2 a candidate."""
    service.clear_model_cache()
    texts, labels = read_rows(clinc_slice[0])
    with database.transaction() as session:
        for activate in (True, False):
            service.train_version(
                session, "category", texts, labels, source="test", abstain_label="oos",
                activate=activate, options=FAST,
            )  # fmt: skip
    return database


ADMIN_ROUTES = [
    ("GET", "/api/v1/models"),
    ("POST", "/api/v1/models/category/2/promote"),
    ("POST", "/api/v1/models/category/rollback"),
    ("POST", "/api/v1/models/category/2/shadow"),
    ("DELETE", "/api/v1/models/category/shadow"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_registry_routes_need_an_admin(client, registry, method, path):
    assert client.request(method, path).status_code == 401
    for role in (Role.AGENT, Role.LEAD, Role.MANAGER):
        response = client.request(method, path, headers=make_agent(registry, role).headers)
        assert response.status_code == 403, role
        assert "admin" in response.json()["error"]["message"]


def test_admin_promotes_shadows_and_rolls_back_over_the_api(client, registry):
    admin = make_agent(registry, Role.ADMIN).headers
    listed = client.get("/api/v1/models", headers=admin).json()
    [head] = listed["heads"]
    assert (head["head"], head["active_version"], head["shadow_version"]) == ("category", 1, None)
    assert [v["state"] for v in head["versions"]] == ["candidate", "active"]

    shadow = client.post("/api/v1/models/category/2/shadow", headers=admin)
    assert shadow.status_code == 200 and shadow.json()["state"] == "shadow"
    with registry.transaction() as session:
        prediction = service.predict(session, "category", "translate good night to german")
        assert prediction.shadow.model_version == "category-2"
    listed = client.get("/api/v1/models", headers=admin).json()["heads"][0]
    assert listed["shadow_version"] == 2
    assert listed["versions"][0]["shadow_predictions"] == 1
    assert listed["versions"][0]["shadow_agreement_rate"] == 1.0

    promoted = client.post("/api/v1/models/category/2/promote", headers=admin)
    assert promoted.status_code == 200 and promoted.json()["state"] == "active"
    assert client.get("/api/v1/models", headers=admin).json()["heads"][0]["shadow_version"] is None
    rolled = client.post("/api/v1/models/category/rollback", headers=admin)
    assert rolled.status_code == 200 and rolled.json()["name"] == "category-1"
    # The active version cannot shadow itself; an unknown version is a clear 404.
    conflict = client.post("/api/v1/models/category/1/shadow", headers=admin)
    assert conflict.status_code == 409 and "active version" in conflict.json()["error"]["message"]
    missing = client.post("/api/v1/models/category/7/promote", headers=admin)
    assert missing.status_code == 404 and "no version 7" in missing.json()["error"]["message"]


def test_admin_page_lists_versions_with_promote_and_rollback_buttons(client, registry):
    assert client.get("/admin/models", follow_redirects=False).headers["location"].startswith("/login")
    sign_in_agent(client, make_agent(registry, Role.MANAGER))
    assert client.get("/admin/models").status_code == 403
    csrf = sign_in_agent(client, make_agent(registry, Role.ADMIN))
    page = client.get("/admin/models")
    assert page.status_code == 200
    html = page.text
    assert 'href="/admin/models"' in html  # the admin's navigation links here
    assert 'data-testid="version-category-1" data-state="active"' in html
    assert 'hx-post="/api/v1/models/category/2/promote"' in html
    assert 'hx-post="/api/v1/models/category/rollback"' in html
    # The buttons post with the session cookie and the page's CSRF token, as htmx does.
    assert client.post("/api/v1/models/category/2/promote").status_code == 403  # no CSRF token
    done = client.post("/api/v1/models/category/2/promote", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert 'data-testid="version-category-2" data-state="active"' in client.get("/admin/models").text
