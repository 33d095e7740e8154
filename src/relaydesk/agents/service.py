"""Business logic of the agents domain: people, teams, sign-in."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from relaydesk.agents.models import Agent, AgentSkill, Team, TeamMembership
from relaydesk.agents.repository import AgentRepository
from relaydesk.agents.schemas import AgentCreate, AgentUpdate, SkillIn, TeamCreate, TeamUpdate
from relaydesk.auth.passwords import hash_password, needs_rehash, verify_password
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.time import utcnow

__all__ = [
    "authenticate",
    "create_agent",
    "create_team",
    "get_agent",
    "get_team",
    "list_agents",
    "list_teams",
    "restricted_team_ids",
    "set_password",
    "update_agent",
    "update_team",
]


def get_agent(session: Session, agent_id: int) -> Agent:
    agent = AgentRepository(session).get_agent(agent_id)
    if agent is None:
        raise NotFoundError(f"No agent with id {agent_id}.")
    return agent


def list_agents(
    session: Session, *, team_id: int | None = None, active: bool | None = None
) -> Sequence[Agent]:
    return AgentRepository(session).list_agents(team_id=team_id, active=active)


def _check_teams(repo: AgentRepository, team_ids: list[int]) -> None:
    found = {team.id for team in repo.teams_by_ids(team_ids)}
    missing = sorted(set(team_ids) - found)
    if missing:
        raise ValidationFailedError(f"Unknown team ids {missing}; create the teams first.")


def _set_skills(agent: Agent, skills: list[SkillIn]) -> None:
    names = [s.skill.lower() for s in skills]
    if len(names) != len(set(names)):
        raise ValidationFailedError("Each skill may be listed once per agent.")
    agent.skills = [AgentSkill(skill=s.skill.lower(), level=s.level) for s in skills]


def create_agent(session: Session, data: AgentCreate) -> Agent:
    repo = AgentRepository(session)
    if repo.agent_by_email(data.email) is not None:
        raise ConflictError(f"An agent with the email {data.email} already exists.")
    _check_teams(repo, data.team_ids)
    agent = Agent(
        email=data.email.lower(),
        name=data.name,
        password_hash=hash_password(data.password) if data.password else None,
        role=data.role,
        tier_level=data.tier_level,
        languages=[lang.lower() for lang in data.languages],
        capacity=data.capacity,
    )
    agent.memberships = [TeamMembership(team_id=tid) for tid in sorted(set(data.team_ids))]
    _set_skills(agent, data.skills)
    session.add(agent)
    session.flush()
    return agent


def update_agent(session: Session, agent_id: int, data: AgentUpdate) -> Agent:
    agent = get_agent(session, agent_id)
    repo = AgentRepository(session)
    changes = data.model_dump(exclude_unset=True)
    if "team_ids" in changes and data.team_ids is not None:
        _check_teams(repo, data.team_ids)
        agent.memberships = [TeamMembership(team_id=tid) for tid in sorted(set(data.team_ids))]
    if "skills" in changes and data.skills is not None:
        _set_skills(agent, data.skills)
    for field in ("name", "role", "tier_level", "languages", "capacity", "status", "active"):
        if field in changes and changes[field] is not None:
            setattr(agent, field, changes[field])
    if changes.get("active") is False:
        agent.session_generation += 1  # a deactivated agent is signed out everywhere
    session.flush()
    return agent


def set_password(session: Session, agent: Agent, password: str) -> None:
    if len(password) < 10:
        raise ValidationFailedError("Passwords need at least 10 characters.")
    agent.password_hash = hash_password(password)
    agent.session_generation += 1


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    """The agent whose email and password match, or None (same timing either way)."""
    agent = AgentRepository(session).agent_by_email(email.strip())
    if not verify_password(agent.password_hash if agent else None, password):
        return None
    assert agent is not None
    if not agent.active:
        return None
    if agent.password_hash and needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    agent.last_login_at = utcnow()
    return agent


def get_team(session: Session, team_id: int) -> Team:
    team = AgentRepository(session).get_team(team_id)
    if team is None:
        raise NotFoundError(f"No team with id {team_id}.")
    return team


def list_teams(session: Session) -> Sequence[Team]:
    return AgentRepository(session).list_teams()


def restricted_team_ids(session: Session) -> set[int]:
    return {team.id for team in AgentRepository(session).list_teams() if team.restricted}


def create_team(session: Session, data: TeamCreate) -> Team:
    repo = AgentRepository(session)
    if repo.team_by_name(data.name) is not None:
        raise ConflictError(f"A team named {data.name!r} already exists.")
    if data.parent_id is not None:
        get_team(session, data.parent_id)
    team = Team(
        name=data.name, description=data.description, restricted=data.restricted, parent_id=data.parent_id
    )
    session.add(team)
    session.flush()
    return team


def update_team(session: Session, team_id: int, data: TeamUpdate) -> Team:
    team = get_team(session, team_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") and changes["name"].lower() != team.name.lower():
        existing = AgentRepository(session).team_by_name(changes["name"])
        if existing is not None:
            raise ConflictError(f"A team named {changes['name']!r} already exists.")
    if "parent_id" in changes and changes["parent_id"] is not None:
        if changes["parent_id"] == team.id:
            raise ValidationFailedError("A team cannot be its own parent.")
        get_team(session, changes["parent_id"])
    for field, value in changes.items():
        if value is not None or field == "parent_id":
            setattr(team, field, value)
    session.flush()
    return team
