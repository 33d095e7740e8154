"""Every route answers hostile input from outside with a 4xx, never a 500: huge ids, NUL bytes and
undecodable text in paths and queries, tampered pagination cursors, non-ASCII tokens and signatures.

The routes come from the app itself, so a route added later is swept too.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from relaydesk.auth.roles import Role
from relaydesk.settings import reset_settings_cache
from tests.factories import PASSWORD, make_agent, make_ticket

HUGE_ID = str(2**63)
NON_ASCII = "é✓".encode()
BAD_CURSORS = [
    "not-a-cursor!",
    base64.urlsafe_b64encode(b'{"x":1}').decode(),
    base64.urlsafe_b64encode(b'{"id":"abc"}').decode(),
    base64.urlsafe_b64encode(b'{"id":[1]}').decode(),
    base64.urlsafe_b64encode(f'{{"id":{2**70}}}'.encode()).decode(),
    base64.urlsafe_b64encode(b"[1,2]").decode(),
    "é",
]
SECRET_HEADERS = [
    "X-CSRF-Token",
    "X-Twilio-Signature",
    "X-Hub-Signature-256",
    "X-Relaydesk-Signature",
    "X-Relaydesk-Visitor-Token",
    "X-Relaydesk-User-Hash",
]


@pytest.fixture
def configured(monkeypatch) -> Iterator[None]:
    # Every channel configured, so that signature checks run instead of "channel disabled".
    for name, value in {
        "RELAYDESK_SMS_AUTH_TOKEN": "sms-token",
        "RELAYDESK_SOCIAL_APP_SECRET": "social-secret",
        "RELAYDESK_SOCIAL_VERIFY_TOKEN": "verify-me",
        "RELAYDESK_PHONE_WEBHOOK_SECRET": "phone-secret",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    yield
    reset_settings_cache()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path_format: str
    route: APIRoute

    def params(self, kind: str) -> list:
        """The route's path or query parameters, its dependencies' included."""
        found, pending = [], [self.route.dependant]
        while pending:
            dependant = pending.pop()
            found += getattr(dependant, f"{kind}_params")
            pending += dependant.dependencies
        return found


def _routes(client) -> list[Endpoint]:
    """Every HTTP operation of the app, with its full path (included routers resolved)."""
    return [
        Endpoint(method, context.path_format, context.original_route)
        for context in iter_route_contexts(client.app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in sorted(context.original_route.methods - {"HEAD", "OPTIONS"})
    ]


def _is_int(field) -> bool:
    return "int" in repr(field.field_info.annotation)


def _path(endpoint: Endpoint, *, ints: str, strings: str) -> str:
    kinds = {p.name: _is_int(p) for p in endpoint.params("path")}
    return re.sub(
        r"{(\w+)(:path)?}", lambda m: ints if kinds.get(m.group(1), False) else strings, endpoint.path_format
    )


@pytest.fixture
def client(database) -> Iterator[TestClient]:
    """The real app, answering a crash with its 500 page instead of raising it into the test."""
    from relaydesk.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def _send(client, method: str, url: str, **kwargs):
    if method in {"POST", "PUT", "PATCH"}:
        kwargs.setdefault("json", {})
    return client.request(method, url, **kwargs)


def _assert_no_5xx(results: list[tuple[str, str, int, str]]) -> None:
    failures = [
        f"{method} {url} -> {status}: {text[:160]}" for method, url, status, text in results if status >= 500
    ]
    assert not failures, "\n".join(failures)


@pytest.fixture
def admin(database):
    login = make_agent(database, Role.ADMIN)
    make_ticket(database)
    return login


def test_ids_beyond_64_bits_in_any_path_or_query_are_refused_with_4xx(client, admin, configured):
    results = []
    for endpoint in _routes(client):
        if not any(_is_int(p) for p in endpoint.params("path") + endpoint.params("query")):
            continue
        url = _path(endpoint, ints=HUGE_ID, strings="x")
        query = {p.alias: HUGE_ID for p in endpoint.params("query") if _is_int(p)}
        response = _send(client, endpoint.method, url, params=query, headers=admin.headers)
        results.append((endpoint.method, url, response.status_code, response.text))
    assert results
    _assert_no_5xx(results)
    assert client.get(f"/api/v1/tickets/{HUGE_ID}", headers=admin.headers).status_code == 422


def test_nul_bytes_in_any_path_or_query_are_refused_with_4xx(client, admin, configured):
    results = []
    for endpoint in _routes(client):
        url = _path(endpoint, ints="1", strings=quote("a\x00b"))
        query = {p.alias: "a\x00b" for p in endpoint.params("query")}
        response = _send(client, endpoint.method, url, params=query, headers=admin.headers)
        results.append((endpoint.method, url, response.status_code, response.text))
    _assert_no_5xx(results)
    response = client.get("/api/v1/tickets", params={"q": "a\x00b"}, headers=admin.headers)
    assert response.status_code == 422
    assert "NUL" in response.json()["error"]["message"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_tampered_cursors_on_any_list_are_a_400(client, admin, configured, cursor):
    results = []
    for endpoint in _routes(client):
        if not any(p.alias == "cursor" for p in endpoint.params("query")):
            continue
        url = _path(endpoint, ints="1", strings="x")
        response = _send(client, endpoint.method, url, params={"cursor": cursor}, headers=admin.headers)
        results.append((endpoint.method, url, response.status_code, response.text))
    assert results
    _assert_no_5xx(results)
    assert all(status == 400 for _, _, status, _ in results), results


def _signed_in_cookies(client) -> str:
    agent = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', agent.text)
    assert csrf
    return csrf.group(1)


def test_non_ascii_tokens_and_signatures_on_any_route_are_refused_with_4xx(client, admin, configured):
    # Signed in with a session cookie, so the CSRF check runs on every unsafe method.
    csrf = _signed_in_cookies(client)
    signed_in = client.post(
        "/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    headers = {name: NON_ASCII for name in SECRET_HEADERS}
    results = []
    for endpoint in _routes(client):
        url = _path(endpoint, ints="1", strings="x")
        response = _send(client, endpoint.method, url, headers=headers)
        results.append((endpoint.method, url, response.status_code, response.text))
        # An API token that is not ASCII, on the same route.
        response = _send(client, endpoint.method, url, headers={"Authorization": b"Bearer rd_" + NON_ASCII})
        results.append((endpoint.method, url + " (bearer)", response.status_code, response.text))
    hub = client.get(
        "/webhooks/social",
        params={"hub.mode": "subscribe", "hub.verify_token": "é", "hub.challenge": "1"},
    )
    results.append(("GET", "/webhooks/social (verify token)", hub.status_code, hub.text))
    client.cookies.clear()
    csrf = _signed_in_cookies(client)
    login = client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf + "é"})
    results.append(("POST", "/login (csrf form field)", login.status_code, login.text))
    _assert_no_5xx(results)
    assert hub.status_code == 403 and login.status_code == 400


def _chat_headers(database, client) -> dict[str, str]:
    from relaydesk.channels.chat import service
    from relaydesk.channels.chat.schemas import ChatSiteCreate

    service.forget_cached_sites()
    with database.transaction() as session:
        site = service.create_site(session, ChatSiteCreate(name="Shop"), public_key="shop-edges")
    headers = {"X-Relaydesk-Site-Key": site.public_key}
    token = client.get("/chat/v1/conversation", headers=headers).json()["visitor_token"]
    return {**headers, "X-Relaydesk-Visitor-Token": token}


NUL_TEXT = "Where is my parcel?\x00"
# Every text input that reached the database with a NUL: four public, four for agents.
NUL_BODIES = {
    "chat message": lambda c, db, admin, t: c.post(
        "/chat/v1/messages", json={"client_id": "client-0001", "body": NUL_TEXT}, headers=_chat_headers(db, c)
    ),
    "contact form": lambda c, db, admin, t: c.post(
        "/help/en/contact",
        data={"email": "ann@example.com", "question": NUL_TEXT, "submission_id": "submission-0001"},
    ),
    "callback request": lambda c, db, admin, t: c.post(
        "/callbacks/v1/requests", json={"phone": "+14155550123", "reason": NUL_TEXT}
    ),
    "public suggestions": lambda c, db, admin, t: c.post(
        "/api/v1/public/suggestions", json={"query": NUL_TEXT, "channel": "web_form"}
    ),
    "new ticket": lambda c, db, admin, t: c.post(
        "/api/v1/tickets",
        json={"body": NUL_TEXT, "customer": {"kind": "email", "value": "bo@example.com"}, "channel": "api"},
        headers=admin.headers,
    ),
    "agent reply": lambda c, db, admin, t: c.post(
        f"/api/v1/tickets/{t}/messages", json={"body": NUL_TEXT}, headers=admin.headers
    ),
    "new customer": lambda c, db, admin, t: c.post(
        "/api/v1/customers", json={"name": NUL_TEXT}, headers=admin.headers
    ),
    "ticket subject": lambda c, db, admin, t: c.patch(
        f"/api/v1/tickets/{t}", json={"subject": NUL_TEXT}, headers=admin.headers
    ),
}


@pytest.mark.parametrize("case", sorted(NUL_BODIES))
def test_nul_bytes_in_any_text_body_are_refused_alike_on_both_databases(client, database, admin, case):
    from sqlalchemy import func, select

    from relaydesk.tickets.models import Message

    ticket_id = make_ticket(database, email="ann@example.com")
    with database.transaction(read_only=True) as session:
        before = session.scalar(select(func.count()).select_from(Message))
    response = NUL_BODIES[case](client, database, admin, ticket_id)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["error"]["message"]
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == before


def test_a_lone_surrogate_in_json_text_is_refused(client, admin):
    body = b'{"name": "Ann \\ud800"}'
    response = client.post(
        "/api/v1/customers", content=body, headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "Unicode" in response.json()["error"]["message"]
