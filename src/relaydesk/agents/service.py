"""Business logic of the agents domain: people, teams, sign-in."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.models import Agent, AgentSkill, Team, TeamMembership
from relaydesk.agents.repository import AgentRepository
from relaydesk.agents.schemas import AgentCreate, AgentUpdate, SkillIn, TeamCreate, TeamUpdate
from relaydesk.auth import sessions as auth_sessions
from relaydesk.auth import throttle
from relaydesk.auth.models import AgentSession
from relaydesk.auth.passwords import hash_password, needs_rehash, password_problem
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings

__all__ = [
    "SignInAttempt",
    "SignInResult",
    "agent_by_email",
    "agent_for_session",
    "begin_sign_in",
    "create_agent",
    "create_team",
    "finish_sign_in",
    "get_agent",
    "get_team",
    "list_agents",
    "list_teams",
    "restricted_team_ids",
    "set_password",
    "set_status",
    "sign_out",
    "sign_out_everywhere",
    "team_by_name",
    "unlock_agent",
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
        timezone=data.timezone,
        working_hours=data.working_hours,
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
    if changes.get("status") is not None:
        set_status(agent, changes["status"])
    fields = ("name", "role", "tier_level", "languages", "capacity", "timezone", "working_hours", "active")
    for field in fields:
        if field in changes and changes[field] is not None:
            setattr(agent, field, changes[field])
    if changes.get("active") is False:
        auth_sessions.revoke_agent_sessions(session, agent.id)  # a deactivated agent is signed out
    session.flush()
    return agent


def set_status(agent: Agent, status: AgentStatus) -> None:
    """Change the agent's presence, remembering when (routing's "longest idle" reads it)."""
    if agent.status is not status:
        agent.status = status
        agent.status_changed_at = utcnow()


def set_password(session: Session, agent: Agent, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise ValidationFailedError(problem)
    agent.password_hash = hash_password(password)
    # Whoever knew the old password may hold a session: a new password signs out everywhere.
    auth_sessions.revoke_agent_sessions(session, agent.id)


# Sign-in runs in two steps around the password check, which the caller runs off the event loop
# (``auth.passwords.verify_password_off_loop``): a blocked account or address is refused before any hash.


@dataclass(frozen=True)
class SignInAttempt:
    email: str
    address: str
    agent_id: int | None
    password_hash: str | None
    blocked: SignInResult | None = None


@dataclass(frozen=True)
class SignInResult:
    agent: Agent | None = None
    session_id: str | None = None
    blocked_until: datetime | None = None
    # Why it is blocked, said so the person knows what to do: "account" or "address".
    blocked_scope: str = ""

    @property
    def retry_after_seconds(self) -> int:
        if self.blocked_until is None:
            return 0
        return max(1, math.ceil((self.blocked_until - utcnow()).total_seconds()))

    @property
    def blocked_message(self) -> str:
        wait = self.retry_after_seconds
        when = f"{math.ceil(wait / 60)} minute(s)" if wait >= 60 else f"{wait} seconds"
        at = f"after {self.blocked_until:%H:%M} UTC" if self.blocked_until else ""
        if self.blocked_scope == "account":
            return (
                f"Too many failed sign-ins for this account: it is locked. Try again in {when} ({at}), "
                "or ask an administrator to unlock it."
            )
        return f"Too many failed sign-ins from your network address. Try again in {when} ({at})."


def _policies() -> dict[str, throttle.ThrottlePolicy]:
    settings = get_settings()
    block = timedelta(seconds=settings.login_lockout_seconds)
    max_block = timedelta(seconds=settings.login_lockout_max_seconds)
    return {
        # An account counts wrong passwords in a row until a right one (or an admin's unlock).
        "account": throttle.ThrottlePolicy(settings.login_account_max_failures, block, max_block),
        # An address may hold many people (an office): a larger count that lapses after a quiet window.
        "address": throttle.ThrottlePolicy(
            settings.login_address_max_failures,
            block,
            max_block,
            window=timedelta(seconds=settings.login_failure_window_seconds),
        ),
    }


def _keys(email: str, address: str) -> dict[str, str]:
    return {"account": throttle.account_key(email), "address": throttle.address_key(address)}


def begin_sign_in(session: Session, email: str, address: str) -> SignInAttempt:
    """Who is signing in, or why they may not try now (``blocked``), before any password is hashed."""
    for scope, key in _keys(email, address).items():
        until = throttle.blocked_until(session, key)
        if until is not None:
            return SignInAttempt(email, address, None, None, SignInResult(None, None, until, scope))
    agent = AgentRepository(session).agent_by_email(email.strip())
    return SignInAttempt(email, address, agent.id if agent else None, agent.password_hash if agent else None)


def finish_sign_in(
    session: Session, attempt: SignInAttempt, *, password_ok: bool, password: str, user_agent: str = ""
) -> SignInResult:
    """Record the outcome: a session for the right password, a counted failure for a wrong one."""
    agent = session.get(Agent, attempt.agent_id) if password_ok and attempt.agent_id else None
    keys = _keys(attempt.email, attempt.address)
    if agent is not None and agent.active:
        throttle.clear(session, keys["account"])
        _signed_in(agent, password)
        record = auth_sessions.start_session(
            session,
            agent.id,
            lifetime=timedelta(seconds=get_settings().session_max_age_seconds),
            user_agent=user_agent,
            ip_address=attempt.address,
        )
        return SignInResult(agent, record.id)
    # Unknown email, wrong password or a deactivated agent: one answer, and one count, for all three.
    policies = _policies()
    blocked = SignInResult()
    for scope, key in keys.items():
        until = throttle.record_failure(session, key, policies[scope])
        if until is not None and blocked.blocked_until is None:
            blocked = SignInResult(None, None, until, scope)
    return blocked


def _signed_in(agent: Agent, password: str) -> Agent:
    if agent.password_hash and needs_rehash(agent.password_hash):
        # Rare (the hashing parameters changed): one more hash on this sign-in only.
        agent.password_hash = hash_password(password)
    agent.last_login_at = utcnow()
    return agent


def agent_for_session(session: Session, session_id: str) -> tuple[Agent, AgentSession] | None:
    """The active agent signed in by this live session, or None."""
    idle = timedelta(seconds=get_settings().session_idle_seconds)
    record = auth_sessions.find_live_session(session, session_id, idle=idle)
    if record is None:
        return None
    agent = session.get(Agent, record.agent_id)
    if agent is None or not agent.active:
        return None
    return agent, record


def sign_out(session: Session, session_id: str) -> None:
    auth_sessions.revoke_session(session, session_id)


def sign_out_everywhere(session: Session, agent_id: int) -> int:
    """End every sign-in session of the agent; returns how many were live."""
    return auth_sessions.revoke_agent_sessions(session, agent_id)


def unlock_agent(session: Session, agent_id: int) -> bool:
    """Lift a sign-in lock on the agent's account (an admin's action); True if it was locked."""
    agent = get_agent(session, agent_id)
    return throttle.clear(session, throttle.account_key(agent.email))


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


# -- look-ups by what people type (the command line names agents by email and teams by name) ------------


def agent_by_email(session: Session, email: str) -> Agent | None:
    return AgentRepository(session).agent_by_email(email)


def team_by_name(session: Session, name: str) -> Team | None:
    return AgentRepository(session).team_by_name(name)


# -- Routing (issue 21): who the router may offer work to -----------------------------------------------

__all__ += ["lock_agent", "routing_candidates", "team_leads", "teams_parents", "within_working_hours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def routing_candidates(
    session: Session,
    *,
    skills: dict[str, int] | None,
    min_tier_level: int,
    team_ids: Collection[int] | None,
    exclude_ids: Collection[int] = (),
) -> Sequence[Agent]:
    """Active agents who are online, at least at ``min_tier_level``, in one of ``team_ids`` (None: any
    team) and holding one of ``skills`` at its minimum level (None: no skill needed)."""
    return AgentRepository(session).routing_candidates(
        skills=skills, min_tier_level=min_tier_level, team_ids=team_ids, exclude_ids=exclude_ids
    )


def within_working_hours(agent: Agent, moment: datetime) -> bool:
    """Whether ``moment`` falls in the agent's weekly schedule, read in their time zone (no schedule:
    always). A range that ends before it starts ("22:00-06:00") runs past midnight."""
    if not agent.working_hours:
        return True
    try:
        local = moment.astimezone(ZoneInfo(agent.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    minute = local.hour * 60 + local.minute
    today, yesterday = _DAYS[local.weekday()], _DAYS[(local.weekday() - 1) % 7]
    for start, end in _ranges(agent.working_hours.get(today, [])):
        if (start <= minute < end) if start < end else minute >= start:
            return True
    # Yesterday's overnight range still running this morning.
    return any(start > end and minute < end for start, end in _ranges(agent.working_hours.get(yesterday, [])))


def _ranges(spans: list[str]) -> list[tuple[int, int]]:
    parsed = []
    for span in spans:
        try:
            start, end = (int(h) * 60 + int(m) for h, m in (part.split(":") for part in span.split("-")))
        except ValueError:
            continue  # validated when set (schemas); an odd stored value must not stop routing
        parsed.append((start, end))
    return parsed


def lock_agent(session: Session, agent_id: int) -> Agent:
    """The agent, locked until commit and re-read: assignments to one agent queue behind each other,
    so a capacity check stays true until the assignment commits."""
    agent = AgentRepository(session).get_agent(agent_id, for_update=True)
    if agent is None:
        raise NotFoundError(f"No agent with id {agent_id}.")
    return agent


def team_leads(session: Session, team_id: int) -> Sequence[Agent]:
    """Active members of the team with the lead role or above."""
    return [
        agent
        for agent in AgentRepository(session).list_agents(team_id=team_id, active=True)
        if Role(agent.role).at_least(Role.LEAD)
    ]


def teams_parents(session: Session) -> dict[int, int | None]:
    """Each team's parent team (where its work overflows to)."""
    return {team.id: team.parent_id for team in AgentRepository(session).list_teams()}
