"""Every API endpoint, three ways: anonymous (401), too low a role (403), another team's restricted
ticket (404, as if it did not exist). A route added without an entry here fails the coverage test.

Routes whose allowed call needs domain objects this world does not build (an article, a chat site, a
trained model) name the test module that checks their roles with those objects (``elsewhere``); the
anonymous check still runs here for them. Public routes (the customer-facing suggestion API) are
listed in PUBLIC_ROUTES and checked to answer anonymous callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from relaydesk.app import create_app
from relaydesk.auth.roles import Role
from relaydesk.channels.quarantine import quarantine
from relaydesk.tickets import service as tickets
from relaydesk.tickets.attachments import store_file
from relaydesk.tickets.models import Attachment, Ticket
from relaydesk.tickets.schemas import MessageCreate
from tests.factories import Login, make_agent, make_team, make_ticket

_KB = "tests/knowledge/test_api.py"
_MODELS = "tests/classification/test_endpoints.py"
_CHAT = "tests/channels/chat/test_api.py"
_ROUTING = "tests/routing/test_api.py"
_ESCALATION = "tests/escalation/test_api.py"
_VIEWS = "tests/workspace/test_saved_views.py"


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
    # The test module that checks wrong and allowed roles for this route with real domain objects.
    elsewhere: str | None = None


ROUTES = [
    Route("GET", "/api/v1/agents"),
    Route("POST", "/api/v1/agents", Role.ADMIN, {"email": "new@example.com", "name": "New"}),
    Route("GET", "/api/v1/agents/{agent_id}"),
    Route("PATCH", "/api/v1/agents/{agent_id}", Role.ADMIN, {"tier_level": 2}),
    Route("POST", "/api/v1/agents/{agent_id}/unlock", Role.ADMIN),
    Route("PATCH", "/api/v1/agents/me/status", body={"status": "away"}),
    Route("POST", "/api/v1/me/sessions/revoke"),
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
    Route("POST", "/api/v1/customers/{customer_id}/merge", Role.LEAD, {"into_id": 0}, expect_admin=422),
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
    # Knowledge base
    Route("GET", "/api/v1/kb/articles"),
    Route("GET", "/api/v1/kb/search?q=password"),
    Route("POST", "/api/v1/kb/articles", Role.LEAD, {"title": "Returns", "body": "Within 30 days."}),
    Route("GET", "/api/v1/kb/articles/{article_id}", elsewhere=_KB),
    Route("PATCH", "/api/v1/kb/articles/{article_id}", Role.LEAD, {"title": "T"}, elsewhere=_KB),
    Route("DELETE", "/api/v1/kb/articles/{article_id}", Role.LEAD, elsewhere=_KB),
    Route("GET", "/api/v1/kb/articles/{article_id}/versions", elsewhere=_KB),
    Route("POST", "/api/v1/kb/articles/{article_id}/publish", Role.LEAD, elsewhere=_KB),
    Route("POST", "/api/v1/kb/articles/{article_id}/unpublish", Role.LEAD, elsewhere=_KB),
    # Deflection and reports
    Route("GET", "/api/v1/tickets/{ticket_id}/deflection", ticket_scoped=True),
    Route("GET", "/api/v1/reports/deflection", Role.LEAD),
    Route("GET", "/api/v1/reports/kb-gaps", Role.LEAD),
    Route("GET", "/api/v1/reports/articles", Role.LEAD),
    # Triage and models
    Route("GET", "/api/v1/tickets/{ticket_id}/triage", ticket_scoped=True),
    Route("GET", "/api/v1/tickets/{ticket_id}/sla", ticket_scoped=True),
    Route("GET", "/api/v1/models", Role.ADMIN),
    Route("POST", "/api/v1/models/{head}/{version}/promote", Role.ADMIN, elsewhere=_MODELS),
    Route("POST", "/api/v1/models/{head}/rollback", Role.ADMIN, elsewhere=_MODELS),
    Route("POST", "/api/v1/models/{head}/{version}/shadow", Role.ADMIN, elsewhere=_MODELS),
    Route("DELETE", "/api/v1/models/{head}/shadow", Role.ADMIN, elsewhere=_MODELS),
    # Web chat
    Route("POST", "/api/v1/tickets/{ticket_id}/typing", body={"typing": True}, ticket_scoped=True),
    Route("GET", "/api/v1/chat/sites", Role.ADMIN),
    Route("POST", "/api/v1/chat/sites", Role.ADMIN, {"name": "Shop", "allowed_origins": []}),
    Route("PATCH", "/api/v1/chat/sites/{site_id}", Role.ADMIN, {"name": "Shop 2"}, elsewhere=_CHAT),
    Route("POST", "/api/v1/chat/sites/{site_id}/rotate-secret", Role.ADMIN, elsewhere=_CHAT),
    # Routing
    Route("GET", "/api/v1/routing/offers"),
    Route("POST", "/api/v1/routing/offers/{offer_id}/accept"),
    Route("POST", "/api/v1/routing/offers/{offer_id}/decline", body={"reason": "busy"}),
    Route("POST", "/api/v1/routing/next"),
    Route("GET", "/api/v1/routing/queues", Role.LEAD),
    Route("GET", "/api/v1/routing/agents", Role.LEAD),
    Route("GET", "/api/v1/routing/offer-outcomes", Role.LEAD),
    Route("GET", "/api/v1/routing/tickets/{ticket_id}", ticket_scoped=True),
    Route(
        "POST", "/api/v1/routing/tickets/{ticket_id}/reassign", Role.LEAD, {"agent_id": 1}, elsewhere=_ROUTING
    ),
    # Escalation (acknowledging and de-escalating need an escalation first: checked with one elsewhere)
    Route("GET", "/api/v1/tickets/{ticket_id}/escalations", ticket_scoped=True),
    Route(
        "POST",
        "/api/v1/tickets/{ticket_id}/escalations",
        body={"reason": "needs_expertise", "note": "Over my head"},
        ticket_scoped=True,
    ),
    Route("POST", "/api/v1/tickets/{ticket_id}/escalations/acknowledge", elsewhere=_ESCALATION),
    Route(
        "POST",
        "/api/v1/tickets/{ticket_id}/escalations/de-escalate",
        body={"note": "Done"},
        elsewhere=_ESCALATION,
    ),
    # Saved inbox views (each agent's own)
    Route("GET", "/api/v1/views"),
    Route("PATCH", "/api/v1/views/{view_id}", body={"name": "Mine"}, elsewhere=_VIEWS),
]
ROUTE_IDS = [f"{r.method} {r.path.split('?')[0]}" for r in ROUTES]
ELSEWHERE = [r for r in ROUTES if r.elsewhere]

# Customer-facing by design: no sign-in, rate-limited and validated instead (see the deflection tests).
PUBLIC_ROUTES = {
    "POST /api/v1/public/suggestions": {"query": "how do I reset my password", "channel": "web_chat"},
    "POST /api/v1/public/suggestions/{session_id}/feedback": {"article_id": 1, "outcome": "solved"},
}


@dataclass
class World:
    frontline_team: int
    legal_team: int
    admin: Login
    manager: Login
    lead: Login
    frontline: Login
    legal: Login
    open_ticket: int
    legal_ticket: int
    legal_message: int
    legal_attachment: int
    customer_id: int
    quarantined: int


@pytest.fixture
def world(database) -> World:
    frontline_team = make_team(database, "Frontline")
    legal_team = make_team(database, "Legal", restricted=True)
    admin = make_agent(database, Role.ADMIN)
    manager = make_agent(database, Role.MANAGER)
    lead = make_agent(database, Role.LEAD, [frontline_team])
    frontline = make_agent(database, Role.AGENT, [frontline_team])
    legal = make_agent(database, Role.AGENT, [legal_team])
    open_ticket = make_ticket(database, team_id=frontline_team)
    legal_ticket = make_ticket(database, team_id=legal_team, email="angry@example.com", body="I will sue you")
    with database.transaction() as session:
        ticket = session.get(Ticket, legal_ticket)
        message = tickets.add_agent_message(
            session, ticket, MessageCreate(body="Noted, escalating."), legal.agent_id
        )
        stored = store_file(b"settlement draft")
        attachment = Attachment(
            message_id=message.id,
            filename="note.txt",
            content_type="text/plain",
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
        )
        session.add(attachment)
        session.flush()
        ids = (message.id, attachment.id, ticket.customer_id)
    with database.transaction() as session:
        held = quarantine(
            session,
            channel="sms",
            source="webhook:sms",
            reason_code="bad_signature",
            reason="The signature does not match.",
            raw=b"From=%2B1&Body=hi",
            meta={},
        )
        quarantined = held.id
    return World(
        frontline_team,
        legal_team,
        admin,
        manager,
        lead,
        frontline,
        legal,
        open_ticket,
        legal_ticket,
        *ids,
        quarantined,
    )


def _url(route: Route, world, *, ticket_id: int | None = None) -> str:
    return route.path.format(
        agent_id=world.frontline.agent_id,
        team_id=world.frontline_team,
        customer_id=world.customer_id,
        ticket_id=ticket_id or world.legal_ticket,
        message_id=world.legal_message,
        attachment_id=world.legal_attachment,
        item_id=world.quarantined,
        # Objects this world does not build: their routes' roles are checked in ``elsewhere``.
        article_id=1,
        head="category",
        version=1,
        site_id=1,
        offer_id=1,
        session_id="missing",
        view_id=1,
    )


def _call_route(client, route: Route, url: str, headers: dict[str, str] | None = None):
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
    assert actual == set(ROUTE_IDS) | set(PUBLIC_ROUTES)


@pytest.mark.parametrize("route", ELSEWHERE, ids=[f"{r.method} {r.path}" for r in ELSEWHERE])
def test_routes_checked_elsewhere_are_checked_there(route):
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / route.elsewhere).read_text()
    # The module calls this very path (any id in the placeholders) and checks 401 and 403 answers.
    pattern = re.sub(r"\\\{[a-z_]+\\\}", r"[^/\"']+", re.escape(route.path))
    assert re.search(pattern + r"[\"'/]", text), pattern
    assert "403" in text and "401" in text


@pytest.mark.parametrize("route_id", sorted(PUBLIC_ROUTES))
def test_public_routes_answer_anonymous_callers(client, route_id):
    method, path = route_id.split(" ")
    response = client.request(method, path.format(session_id="missing-session"), json=PUBLIC_ROUTES[route_id])
    # No sign-in asked for; an unknown session is simply not found.
    assert response.status_code in {200, 404}, response.text


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_refused(client, world, route):
    response = _call_route(client, route, _url(route, world))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.role is not Role.AGENT and not r.elsewhere],
    ids=[i for r, i in zip(ROUTES, ROUTE_IDS, strict=True) if r.role is not Role.AGENT and not r.elsewhere],
)
def test_too_low_a_role_is_forbidden(client, world, route):
    ladder = ((world.frontline, Role.AGENT), (world.lead, Role.LEAD), (world.manager, Role.MANAGER))
    lower = [login for login, role in ladder if not role.at_least(route.role)]
    assert lower
    for login in lower:
        response = _call_route(client, route, _url(route, world), login.headers)
        assert response.status_code == 403, login
        assert f"'{route.role}'" in response.json()["error"]["message"]
    status = _call_route(client, route, _url(route, world), world.admin.headers).status_code
    assert status == route.expect_admin if route.expect_admin else status < 300


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.ticket_scoped],
    ids=[i for r, i in zip(ROUTES, ROUTE_IDS, strict=True) if r.ticket_scoped],
)
def test_other_teams_restricted_ticket_looks_missing(client, world, route):
    url = _url(route, world)
    for outsider in (world.frontline, world.lead):
        response = _call_route(client, route, url, outsider.headers)
        assert response.status_code == 404, (outsider, response.text)
        assert "settlement" not in response.text and "sue" not in response.text
    # Its own team, and managers above it, can use the same endpoint.
    assert _call_route(client, route, url, world.legal.headers).status_code < 300
    if route.method == "GET":
        assert _call_route(client, route, url, world.manager.headers).status_code == 200


def test_restricted_tickets_are_left_out_of_lists(client, world):
    def ids(login):
        return {t["id"] for t in client.get("/api/v1/tickets", headers=login.headers).json()["items"]}

    assert world.legal_ticket not in ids(world.frontline)
    assert world.legal_ticket in ids(world.legal)
    assert world.legal_ticket in ids(world.manager)
    assert world.open_ticket in ids(world.frontline)


def test_an_expired_token_is_refused(client, database):
    from datetime import timedelta

    from relaydesk.auth.tokens import create_token
    from relaydesk.kit.time import utcnow

    with database.transaction() as session:
        token = create_token(session, name="old", role=Role.ADMIN, expires_at=utcnow() - timedelta(minutes=1))
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token.plaintext}"})
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_a_token_acting_for_a_deactivated_agent_is_refused(client, world):
    assert client.get("/api/v1/tickets", headers=world.frontline.headers).status_code == 200
    deactivated = client.patch(
        f"/api/v1/agents/{world.frontline.agent_id}", json={"active": False}, headers=world.admin.headers
    )
    assert deactivated.status_code == 200
    response = client.get("/api/v1/tickets", headers=world.frontline.headers)
    assert response.status_code == 401 and "deactivated" in response.json()["error"]["message"]
