"""Helpers of the workspace tests: the agent socket through Starlette's TestClient."""

from __future__ import annotations

import threading
from typing import Any

from relaydesk.auth.sessions import SESSION_COOKIE
from tests.factories import Login, sign_in_agent

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
