"""REST routes of the agents domain (/api/v1/agents, /api/v1/teams)."""

from __future__ import annotations

from fastapi import APIRouter, status

from relaydesk.agents import pages, service
from relaydesk.agents.dependencies import CurrentPrincipal, RequireAdmin
from relaydesk.agents.enums import StatusChangeReason
from relaydesk.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    SessionsRevokedOut,
    StatusUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    UnlockOut,
)
from relaydesk.kit.errors import BadRequestError
from relaydesk.kit.ids import RecordId
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

# The one router app.py mounts: the REST API below and the server-rendered pages.
router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["agents"])


@api.get("/agents", response_model=list[AgentOut])
def list_agents(
    session: SessionDep,
    principal: CurrentPrincipal,
    team_id: RecordId | None = None,
    active: bool | None = None,
) -> list[AgentOut]:
    return [AgentOut.model_validate(a) for a in service.list_agents(session, team_id=team_id, active=active)]


@api.post("/agents", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
def create_agent(data: AgentCreate, session: SessionDep, principal: RequireAdmin) -> AgentOut:
    return AgentOut.model_validate(service.create_agent(session, data))


@api.patch("/agents/me/status", response_model=AgentOut)
def set_my_status(data: StatusUpdate, session: SessionDep, principal: CurrentPrincipal) -> AgentOut:
    """Set the calling agent's own presence: online, away, busy or offline."""
    if principal.agent_id is None:
        raise BadRequestError("This API token acts for no agent, so it has no presence to set.")
    agent = service.get_agent(session, principal.agent_id)
    service.set_status(agent, data.status, reason=StatusChangeReason.SELF)
    session.flush()
    return AgentOut.model_validate(agent)


@api.get("/agents/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> AgentOut:
    return AgentOut.model_validate(service.get_agent(session, agent_id))


@api.patch("/agents/{agent_id}", response_model=AgentOut)
def update_agent(
    agent_id: RecordId, data: AgentUpdate, session: SessionDep, principal: RequireAdmin
) -> AgentOut:
    return AgentOut.model_validate(service.update_agent(session, agent_id, data))


@api.post("/agents/{agent_id}/unlock", response_model=UnlockOut)
def unlock_agent(agent_id: RecordId, session: SessionDep, principal: RequireAdmin) -> UnlockOut:
    """Lift the sign-in lock that repeated wrong passwords put on this agent's account."""
    return UnlockOut(agent_id=agent_id, was_locked=service.unlock_agent(session, agent_id))


@api.post("/me/sessions/revoke", response_model=SessionsRevokedOut)
def sign_out_everywhere(session: SessionDep, principal: CurrentPrincipal) -> SessionsRevokedOut:
    """Sign the calling agent out everywhere: every sign-in session ends (API tokens are kept)."""
    if principal.agent_id is None:
        raise BadRequestError("This API token acts for no agent, so it has no sign-in sessions to end.")
    return SessionsRevokedOut(revoked=service.sign_out_everywhere(session, principal.agent_id))


@api.get("/teams", response_model=list[TeamOut])
def list_teams(session: SessionDep, principal: CurrentPrincipal) -> list[TeamOut]:
    return [TeamOut.model_validate(t) for t in service.list_teams(session)]


@api.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED)
def create_team(data: TeamCreate, session: SessionDep, principal: RequireAdmin) -> TeamOut:
    return TeamOut.model_validate(service.create_team(session, data))


@api.get("/teams/{team_id}", response_model=TeamOut)
def get_team(team_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> TeamOut:
    return TeamOut.model_validate(service.get_team(session, team_id))


@api.patch("/teams/{team_id}", response_model=TeamOut)
def update_team(team_id: RecordId, data: TeamUpdate, session: SessionDep, principal: RequireAdmin) -> TeamOut:
    return TeamOut.model_validate(service.update_team(session, team_id, data))


router.include_router(api)
router.include_router(pages.router)
