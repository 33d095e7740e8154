"""Every API endpoint, three ways: anonymous (401), too low a role (403), another team's restricted
ticket (404, as if it did not exist). A route added without an entry here fails the coverage test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from relaydesk.app import create_app
from relaydesk.auth.roles import Role


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: Role = Role.AGENT
    body: Any = None
    ticket_scoped: bool = False
    files: bool = False
    # What an admin gets when allowed; reprocessing a junk input is refused with a conflict.
    expect_admin: int | None = None


ROUTES = [
    Route("GET", "/api/v1/agents"),
    Route("POST", "/api/v1/agents", Role.ADMIN, {"email": "new@example.com", "name": "New"}),
    Route("GET", "/api/v1/agents/{agent_id}"),
    Route("PATCH", "/api/v1/agents/{agent_id}", Role.ADMIN, {"tier_level": 2}),
    Route("GET", "/api/v1/teams"),
    Route("POST", "/api/v1/teams", Role.ADMIN, {"name": "Night shift"}),
    Route("GET", "/api/v1/teams/{team_id}"),
    Route("PATCH", "/api/v1/teams/{team_id}", Role.ADMIN, {"description": "Days"}),
    Route("GET", "/api/v1/customers"),
    Route("POST", "/api/v1/customers", body={"name": "Zoe"}),
    Route("GET", "/api/v1/customers/{customer_id}"),
    Route("PATCH", "/api/v1/customers/{customer_id}", body={"name": "Zoe B"}),
    Route(
        "POST", "/api/v1/customers/{customer_id}/identities", body={"kind": "phone", "value": "+14155550100"}
    ),
    Route("GET", "/api/v1/customers/{customer_id}/merge-candidates"),
    Route("POST", "/api/v1/customers/{customer_id}/merge", body={"into_id": 0}, expect_admin=404),
    Route("GET", "/api/v1/tickets"),
    Route(
        "POST",
        "/api/v1/tickets",
        body={"body": "Help", "customer": {"kind": "email", "value": "z@example.org"}},
    ),
    Route("GET", "/api/v1/tickets/{ticket_id}", ticket_scoped=True),
    Route("PATCH", "/api/v1/tickets/{ticket_id}", body={"priority": "high"}, ticket_scoped=True),
    Route("POST", "/api/v1/tickets/{ticket_id}/status", body={"status": "open"}, ticket_scoped=True),
    Route("GET", "/api/v1/tickets/{ticket_id}/messages", ticket_scoped=True),
    Route("POST", "/api/v1/tickets/{ticket_id}/messages", body={"body": "Hi"}, ticket_scoped=True),
    Route(
        "POST",
        "/api/v1/tickets/{ticket_id}/messages/{message_id}/attachments",
        ticket_scoped=True,
        files=True,
    ),
    Route("GET", "/api/v1/tickets/{ticket_id}/attachments/{attachment_id}", ticket_scoped=True),
    Route("GET", "/api/v1/tickets/{ticket_id}/events", ticket_scoped=True),
    Route("GET", "/api/v1/callbacks"),
    Route("GET", "/api/v1/quarantine", Role.ADMIN),
    Route("GET", "/api/v1/quarantine/{item_id}/raw", Role.ADMIN),
    Route("POST", "/api/v1/quarantine/{item_id}/discard", Role.ADMIN),
    Route("POST", "/api/v1/quarantine/{item_id}/reprocess", Role.ADMIN, expect_admin=409),
]
ROUTE_IDS = [f"{r.method} {r.path}" for r in ROUTES]


def _url(route: Route, world, *, ticket_id: int | None = None) -> str:
    return route.path.format(
        agent_id=world.frontline.agent_id,
        team_id=world.frontline_team,
        customer_id=world.customer_id,
        ticket_id=ticket_id or world.legal_ticket,
        message_id=world.legal_message,
        attachment_id=world.legal_attachment,
        item_id=world.quarantined,
    )


def _call(client, route: Route, url: str, headers: dict[str, str] | None = None):
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if route.files:
        kwargs["files"] = {"file": ("a.txt", b"attachment body", "text/plain")}
    elif route.body is not None:
        kwargs["json"] = route.body
    return client.request(route.method, url, **kwargs)


def test_every_api_route_is_listed_here():
    paths = create_app().openapi()["paths"]
    actual = {
        f"{method.upper()} {path}"
        for path, ops in paths.items()
        if path.startswith("/api/")
        for method in ops
    }
    assert actual == set(ROUTE_IDS)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_refused(client, world, route):
    response = _call(client, route, _url(route, world))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.role is not Role.AGENT],
    ids=[i for r, i in zip(ROUTES, ROUTE_IDS, strict=True) if r.role is not Role.AGENT],
)
def test_too_low_a_role_is_forbidden(client, world, route):
    for login in (world.frontline, world.lead, world.manager):
        response = _call(client, route, _url(route, world), login.headers)
        assert response.status_code == 403, login
        assert "admin" in response.json()["error"]["message"]
    status = _call(client, route, _url(route, world), world.admin.headers).status_code
    assert status == route.expect_admin if route.expect_admin else status < 300


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.ticket_scoped],
    ids=[i for r, i in zip(ROUTES, ROUTE_IDS, strict=True) if r.ticket_scoped],
)
def test_other_teams_restricted_ticket_looks_missing(client, world, route):
    url = _url(route, world)
    for outsider in (world.frontline, world.lead):
        response = _call(client, route, url, outsider.headers)
        assert response.status_code == 404, (outsider, response.text)
        assert "settlement" not in response.text and "sue" not in response.text
    # Its own team, and managers above it, can use the same endpoint.
    assert _call(client, route, url, world.legal.headers).status_code < 300
    if route.method == "GET":
        assert _call(client, route, url, world.manager.headers).status_code == 200


def test_restricted_tickets_are_left_out_of_lists(client, world):
    def ids(login):
        return {t["id"] for t in client.get("/api/v1/tickets", headers=login.headers).json()["items"]}

    assert world.legal_ticket not in ids(world.frontline)
    assert world.legal_ticket in ids(world.legal)
    assert world.legal_ticket in ids(world.manager)
    assert world.open_ticket in ids(world.frontline)
