"""Who is calling: ``CurrentPrincipal`` for API routes, ``require_role`` to gate them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from relaydesk.agents import service
from relaydesk.agents.models import Agent
from relaydesk.auth.roles import Principal, Role
from relaydesk.auth.sessions import CSRF_HEADER, SESSION_COOKIE, SessionData, SessionSigner
from relaydesk.auth.tokens import find_active_token
from relaydesk.kit.errors import NotAuthenticatedError, PermissionDeniedError
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings
from relaydesk.web.deps import SessionDep

__all__ = [
    "CurrentPrincipal",
    "OptionalSessionAgent",
    "RequireAdmin",
    "RequireLead",
    "RequireManager",
    "agent_from_cookie",
    "principal_for",
    "require_role",
    "session_signer",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_signer() -> SessionSigner:
    settings = get_settings()
    return SessionSigner(settings.secret, settings.session_max_age_seconds)


def _agent_from_session(session: SessionDep, data: SessionData | None) -> Agent | None:
    # The signed cookie only names the session; the server-side record decides whether it is live.
    if data is None:
        return None
    signed_in = service.agent_for_session(session, data.session_id)
    if signed_in is None:
        return None
    # The one place agent activity is noted: every page and API request of a signed-in agent passes
    # here (API tokens do not: an integration acting for an agent is not the agent at the desk).
    service.record_activity(signed_in[0])
    return signed_in[0]


def get_principal(request: Request, session: SessionDep) -> Principal:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticatedError("Send the API token as 'Authorization: Bearer <token>'.")
        token = find_active_token(session, value.strip())
        if token is None:
            raise NotAuthenticatedError("The API token is unknown, revoked or expired.")
        needed = "read" if request.method in SAFE_METHODS else "write"
        if needed not in token.scopes:
            raise PermissionDeniedError(f"This API token lacks the '{needed}' scope.")
        team_ids = set(token.team_ids)
        if token.agent_id is not None:
            agent = session.get(Agent, token.agent_id)
            if agent is None or not agent.active:
                raise NotAuthenticatedError("The agent this API token acts for is deactivated.")
            team_ids |= set(agent.team_ids)
        now = utcnow()
        # Recording every use would turn each read into a write; a minute's precision is enough.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            token.last_used_at = now
        return Principal(
            role=Role(token.role),
            agent_id=token.agent_id,
            team_ids=frozenset(team_ids),
            token_id=token.id,
            scopes=frozenset(token.scopes),
        )
    data = session_signer().read(request.cookies.get(SESSION_COOKIE))
    agent = _agent_from_session(session, data)
    if agent is None or data is None:
        raise NotAuthenticatedError("Sign in, or send an API token as 'Authorization: Bearer <token>'.")
    if request.method not in SAFE_METHODS and not data.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise PermissionDeniedError(
            f"Missing or wrong CSRF token: send the token from the page in the {CSRF_HEADER} header."
        )
    request.state.session_data = data
    return Principal(
        role=Role(agent.role),
        agent_id=agent.id,
        team_ids=frozenset(agent.team_ids),
        scopes=frozenset({"read", "write"}),
        via_session=True,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.at_least(role):
            raise PermissionDeniedError(
                f"This needs the '{role}' role or above; you are signed in as '{principal.role}'."
            )
        return principal

    return check


RequireLead = Annotated[Principal, Depends(require_role(Role.LEAD))]
RequireManager = Annotated[Principal, Depends(require_role(Role.MANAGER))]
RequireAdmin = Annotated[Principal, Depends(require_role(Role.ADMIN))]


def optional_session_agent(request: Request, session: SessionDep) -> Agent | None:
    """For HTML pages: the signed-in agent, or None (the page then redirects to the login form)."""
    data = session_signer().read(request.cookies.get(SESSION_COOKIE))
    agent = _agent_from_session(session, data)
    if agent is not None:
        request.state.session_data = data
    return agent


OptionalSessionAgent = Annotated[Agent | None, Depends(optional_session_agent)]


# The principal of a signed-in agent, for pages that hold the agent rather than the principal.
def principal_for(agent: object) -> Principal:
    assert isinstance(agent, Agent)
    return Principal(
        role=Role(agent.role), agent_id=agent.id, team_ids=frozenset(agent.team_ids), via_session=True
    )


def agent_from_cookie(session: Session, cookie: str | None) -> Agent | None:
    """The agent a session cookie's value signs in (for a WebSocket, which has no ``Request``), or None."""
    return _agent_from_session(session, session_signer().read(cookie))
