"""/api/v1/kb: every route refuses anonymous callers and too low a role; leads write, agents read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from relaydesk.auth.roles import Role
from relaydesk.knowledge.enums import Visibility
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


def test_questions_are_kept_normalised_and_each_change_of_them_is_a_version(client, people):
    lead = people.lead.headers
    created = client.post(
        "/api/v1/kb/articles",
        headers=lead,
        json={
            "title": "Card kept by the machine",
            "body": "Call us and we block it.",
            "questions": ["  The machine   ate my card ", "the MACHINE ate my card", "ATM\nkept my card"],
        },
    )
    assert created.status_code == 201
    # Spacing collapsed; a repeat in another case dropped; the first-seen spelling and order kept.
    assert created.json()["questions"] == ["The machine ate my card", "ATM kept my card"]
    path = f"/api/v1/kb/articles/{created.json()['id']}"
    assert client.get(path, headers=people.agent.headers).json()["questions"] == created.json()["questions"]
    listed = client.get("/api/v1/kb/articles?q=machine", headers=people.agent.headers).json()["items"]
    assert [a["questions"] for a in listed] == [["The machine ate my card", "ATM kept my card"]]

    changed = client.patch(
        path, headers=lead, json={"questions": ["my card is stuck in the atm"], "version": 1}
    )
    assert changed.status_code == 200
    assert changed.json()["questions"] == ["my card is stuck in the atm"] and changed.json()["version"] == 2
    # Leaving them out, or null, keeps them; [] clears them.
    kept = client.patch(path, headers=lead, json={"title": "Card kept by the ATM", "questions": None})
    assert kept.json()["questions"] == ["my card is stuck in the atm"] and kept.json()["version"] == 3
    cleared = client.patch(path, headers=lead, json={"questions": []}).json()
    assert cleared["questions"] == [] and cleared["version"] == 4
    versions = client.get(f"{path}/versions", headers=people.agent.headers).json()
    assert [(v["version"], v["questions"]) for v in versions] == [
        (1, ["The machine ate my card", "ATM kept my card"]),
        (2, ["my card is stuck in the atm"]),
        (3, ["my card is stuck in the atm"]),
        (4, []),
    ]
    same = client.patch(path, headers=lead, json={"questions": []}).json()
    assert same["version"] == 4  # no change, no new version


def test_questions_the_api_refuses_get_a_message_saying_what_to_fix(client, people):
    lead = people.lead.headers
    too_long = client.post(
        "/api/v1/kb/articles", headers=lead, json={"title": "A", "questions": ["fine", "x" * 301]}
    )
    assert too_long.status_code == 422
    assert "questions.1: String should have at most 300 characters" in too_long.json()["error"]["message"]
    blank = client.post("/api/v1/kb/articles", headers=lead, json={"title": "A", "questions": ["  "]})
    assert blank.status_code == 422 and "questions.0" in blank.json()["error"]["message"]
    too_many = client.post(
        "/api/v1/kb/articles", headers=lead, json={"title": "A", "questions": [f"q {i}" for i in range(201)]}
    )
    assert too_many.status_code == 422
    assert "at most 200 different questions, not 201" in too_many.json()["error"]["message"]
    # Repeats are not counted against the limit: they are dropped first.
    repeats = [f"q {i}" for i in range(200)] + [f"Q {i}" for i in range(50)]
    fits = client.post("/api/v1/kb/articles", headers=lead, json={"title": "A", "questions": repeats})
    assert fits.status_code == 201 and len(fits.json()["questions"]) == 200
    path = f"/api/v1/kb/articles/{people.article_id}"
    not_a_list = client.patch(path, headers=lead, json={"questions": "how do I reset it"})
    assert not_a_list.status_code == 422 and "questions: Input should be a valid list" in not_a_list.text
    assert client.get(path, headers=lead).json()["version"] == 1


def test_null_tags_in_an_edit_leave_them_as_they_are(client, people):
    path = f"/api/v1/kb/articles/{people.article_id}"
    client.patch(path, headers=people.lead.headers, json={"tags": ["account"]})
    kept = client.patch(path, headers=people.lead.headers, json={"tags": None, "title": "Reset a password"})
    assert kept.status_code == 200 and kept.json()["tags"] == ["account"]
