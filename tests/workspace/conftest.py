"""Fixtures of the workspace tests: agents signed in through the real form, with their CSRF header."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from relaydesk.auth.roles import Role
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
