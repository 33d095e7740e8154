"""/api/v1/kb: every route refuses anonymous callers and too low a role; leads write, agents read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from relaydesk.auth.roles import Role
from relaydesk.knowledge.models import Visibility
from tests.factories import Login, make_agent
from tests.knowledge.conftest import add_article


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: Role = Role.AGENT
    body: Any = None


ROUTES = [
    Route("GET", "/api/v1/kb/articles"),
    Route("POST", "/api/v1/kb/articles", Role.LEAD, {"title": "New one", "body": "Text"}),
    Route("GET", "/api/v1/kb/articles/{article_id}"),
    Route("PATCH", "/api/v1/kb/articles/{article_id}", Role.LEAD, {"title": "Renamed"}),
    Route("POST", "/api/v1/kb/articles/{article_id}/publish", Role.LEAD),
    Route("POST", "/api/v1/kb/articles/{article_id}/unpublish", Role.LEAD),
    Route("DELETE", "/api/v1/kb/articles/{article_id}", Role.LEAD),
    Route("GET", "/api/v1/kb/articles/{article_id}/versions"),
    Route("GET", "/api/v1/kb/search?q=reset+password"),
]
IDS = [f"{r.method} {r.path.split('?')[0]}" for r in ROUTES]


@dataclass
class People:
    agent: Login
    lead: Login
    admin: Login
    article_id: int


@pytest.fixture
def people(database) -> People:
    article = add_article(
        database, "Reset your password", "Open Settings, then Security, then Reset password."
    )
    return People(
        make_agent(database, Role.AGENT),
        make_agent(database, Role.LEAD),
        make_agent(database, Role.ADMIN),
        article,
    )


def _call(client, route: Route, people: People, headers: dict[str, str] | None = None):
    url = route.path.format(article_id=people.article_id)
    return client.request(route.method, url, headers=headers or {}, json=route.body)


def test_every_kb_route_is_listed_here(client):
    paths = client.app.openapi()["paths"]
    actual = {f"{m.upper()} {p}" for p, ops in paths.items() if p.startswith("/api/v1/kb") for m in ops}
    assert actual == set(IDS)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_anonymous_is_refused(client, people, route):
    response = _call(client, route, people)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.role is Role.LEAD],
    ids=[i for r, i in zip(ROUTES, IDS, strict=True) if r.role is Role.LEAD],
)
def test_agents_may_not_write_and_leads_may(client, people, route):
    response = _call(client, route, people, people.agent.headers)
    assert response.status_code == 403 and "lead" in response.json()["error"]["message"]
    assert _call(client, route, people, people.lead.headers).status_code < 300


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.role is Role.AGENT],
    ids=[i for r, i in zip(ROUTES, IDS, strict=True) if r.role is Role.AGENT],
)
def test_agents_may_read(client, people, route):
    assert _call(client, route, people, people.agent.headers).status_code == 200


def test_article_lifecycle_records_every_version_with_its_editor(client, people):
    lead = people.lead.headers
    created = client.post(
        "/api/v1/kb/articles",
        headers=lead,
        json={
            "title": "Track a parcel",
            "body": "Use the **tracking** link.",
            "tags": ["shipping"],
            "locale": "EN",
        },
    )
    assert created.status_code == 201
    article = created.json()
    assert article["status"] == "draft" and article["version"] == 1 and article["locale"] == "en"
    assert article["url"] == f"/help/en/articles/{article['id']}-track-a-parcel"
    path = f"/api/v1/kb/articles/{article['id']}"
    assert (
        client.patch(path, headers=lead, json={"body": "Open the tracking link.", "version": 1}).json()[
            "version"
        ]
        == 2
    )
    stale = client.patch(path, headers=lead, json={"title": "Old edit", "version": 1})
    assert stale.status_code == 409 and "version 2" in stale.json()["error"]["message"]
    assert client.post(f"{path}/publish", headers=lead).json()["status"] == "published"
    versions = client.get(f"{path}/versions", headers=people.agent.headers).json()
    assert [(v["version"], v["change"]) for v in versions] == [
        (1, "created"),
        (2, "updated"),
        (3, "published"),
    ]
    assert {v["editor_agent_id"] for v in versions} == {people.lead.agent_id}
    assert (
        versions[0]["body"] == "Use the **tracking** link."
        and versions[1]["body"] == "Open the tracking link."
    )
    assert client.delete(path, headers=lead).status_code == 204
    assert client.get(path, headers=lead).status_code == 404


def test_list_filters_and_pages_with_a_cursor(client, database, people):
    internal = add_article(database, "Refund override", "Agents only.", visibility=Visibility.INTERNAL)
    add_article(database, "Versand verfolgen", "Sendungsverfolgung.", locale="de")
    headers = people.agent.headers
    items = client.get("/api/v1/kb/articles?visibility=internal", headers=headers).json()["items"]
    assert [a["id"] for a in items] == [internal]
    assert [
        a["locale"] for a in client.get("/api/v1/kb/articles?locale=de", headers=headers).json()["items"]
    ] == ["de"]
    assert [
        a["title"] for a in client.get("/api/v1/kb/articles?q=override", headers=headers).json()["items"]
    ] == ["Refund override"]
    first = client.get("/api/v1/kb/articles?limit=2", headers=headers).json()
    second = client.get(f"/api/v1/kb/articles?limit=2&cursor={first['next_cursor']}", headers=headers).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert client.get("/api/v1/kb/articles?cursor=zzz", headers=headers).status_code == 400


def test_bad_input_gets_a_message_naming_the_field(client, people):
    response = client.post(
        "/api/v1/kb/articles", headers=people.lead.headers, json={"title": "", "visibility": "secret"}
    )
    assert response.status_code == 422
    assert "title" in response.text and "visibility" in response.text
    dup = {"title": "A", "external_id": "faq-1"}
    assert client.post("/api/v1/kb/articles", headers=people.lead.headers, json=dup).status_code == 201
    again = client.post("/api/v1/kb/articles", headers=people.lead.headers, json=dup)
    assert again.status_code == 409 and "faq-1" in again.json()["error"]["message"]
