"""Fixtures and helpers of the workspace tests: agents signed in through the real form (with their CSRF
header), and the agent socket through Starlette's TestClient."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest

from relaydesk.auth.roles import Role
from relaydesk.auth.sessions import SESSION_COOKIE
from tests.channels.chat.conftest import site  # noqa: F401  (the chat site fixture, for notes on chat)
from tests.factories import Login, make_agent, make_team, make_ticket, sign_in_agent


@dataclass(frozen=True)
class SignedIn:
    """A TestClient signed in as ``login``; ``post`` sends the page's CSRF header and htmx's marker."""

    client: object
    login: Login
    csrf: str

    def post(self, path: str, data: dict[str, object] | None = None, **kwargs: object):
        headers = {"X-CSRF-Token": self.csrf, "HX-Request": "true", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)  # type: ignore[attr-defined]

    def get(self, path: str, **kwargs: object):
        return self.client.get(path, **kwargs)  # type: ignore[attr-defined]


def signed_in_agent(client, database, role: Role = Role.AGENT, team_ids: list[int] | None = None) -> SignedIn:
    login = make_agent(database, role, team_ids)
    return SignedIn(client, login, sign_in_agent(client, login))


@pytest.fixture
def agent(client, database) -> SignedIn:
    return signed_in_agent(client, database)


@pytest.fixture
def ticket_id(database) -> int:
    return make_ticket(database, email="ada@example.com", body="My parcel never arrived")


@pytest.fixture
def legal(database) -> tuple[int, int]:
    """A restricted team and one of its tickets."""
    team = make_team(database, "Legal", restricted=True)
    return team, make_ticket(database, team_id=team, email="claimant@example.com", body="Notice of claim")


OWN_ORIGIN = "http://testserver"  # the TestClient's base URL: Relaydesk's own origin in these tests


def agent_session_cookie(client, login: Login) -> str:
    """Sign ``login`` in through the real form; answers the session cookie's value (the client's jar is
    left empty, so several agents' sockets can share one client and its event loop)."""
    sign_in_agent(client, login)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    client.cookies.clear()
    return cookie


def open_agent_socket(client, cookie: str | None, *, origin: str | None = OWN_ORIGIN):
    headers = {}
    if origin is not None:
        headers["origin"] = origin
    if cookie is not None:
        headers["cookie"] = f"{SESSION_COOKIE}={cookie}"
    return client.websocket_connect("/ws/agent", headers=headers)


def next_agent_frame(ws, *types: str, limit: int = 50) -> dict[str, Any]:
    """The next frame of one of ``types`` (others, such as inbox refreshes, are passed over)."""
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] in types:
            return frame
    raise AssertionError(f"no {types} frame in {limit} frames")


def on_plain_thread(function, *args):
    """Run ``function`` on a thread with no event loop, as a request's or the job worker's thread.

    The test's own thread will not do: once a browser test ran, Playwright's sync API keeps an event
    loop running on it, and code there would publish on that loop instead of the server's."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = function(*args)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in result:
        raise result["error"]
    return result.get("value")
