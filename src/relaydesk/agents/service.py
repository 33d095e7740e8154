"""Business logic of the agents domain: people, teams, sign-in."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, object_session

from relaydesk.agents.enums import AgentStatus, StatusChangeReason
from relaydesk.agents.models import Agent, AgentSkill, AgentStatusChange, Team, TeamMembership
from relaydesk.agents.repository import AgentFact as AgentFact  # public: routing_candidates' arguments
from relaydesk.agents.repository import AgentRepository
from relaydesk.agents.repository import RoutingNeed as RoutingNeed  # public
from relaydesk.agents.schemas import AgentCreate, AgentUpdate, SkillIn, TeamCreate, TeamUpdate
from relaydesk.auth import sessions as auth_sessions
from relaydesk.auth import throttle
from relaydesk.auth.models import AgentSession
from relaydesk.auth.passwords import hash_password, needs_rehash, password_problem
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.settings import get_settings

log = logging.getLogger("relaydesk.agents")

__all__ = [
    "SignInAttempt",
    "SignInResult",
    "agent_by_email",
    "agent_for_session",
    "auto_away",
    "available_now",
    "begin_sign_in",
    "create_agent",
    "create_team",
    "finish_sign_in",
    "get_agent",
    "get_team",
    "list_agents",
    "list_teams",
    "record_activity",
    "restricted_team_ids",
    "set_password",
    "set_status",
    "set_team_members",
    "sign_out",
    "sign_out_everywhere",
    "status_changes",
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
        raise ValidationFailedError(
            f"Unknown team ids {missing}; create the teams first.", details={"field": "team_ids"}
        )


def _set_skills(agent: Agent, skills: list[SkillIn]) -> None:
    names = [s.skill.lower() for s in skills]
    if len(names) != len(set(names)):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValidationFailedError(
            f"Each skill may be listed once per agent; {', '.join(duplicates)} is listed twice.",
            details={"field": "skills"},
        )
    # Rows of skills kept are updated in place: a new row beside the old one would break the unique
    # (agent_id, skill) constraint, since the flush inserts before it deletes.
    existing = {row.skill: row for row in agent.skills}
    rows = []
    for wanted in skills:
        row = existing.get(wanted.skill.lower()) or AgentSkill(skill=wanted.skill.lower())
        row.level = wanted.level
        rows.append(row)
    agent.skills = rows


def create_agent(session: Session, data: AgentCreate) -> Agent:
    repo = AgentRepository(session)
    if repo.agent_by_email(data.email) is not None:
        raise ConflictError(
            f"An agent with the email {data.email} already exists.", details={"field": "email"}
        )
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
        set_status(agent, changes["status"], reason=StatusChangeReason.ADMIN)
    fields = ("name", "role", "tier_level", "languages", "capacity", "timezone", "working_hours", "active")
    for field in fields:
        if field in changes and changes[field] is not None:
            setattr(agent, field, changes[field])
    if changes.get("active") is False:
        auth_sessions.revoke_agent_sessions(session, agent.id)  # a deactivated agent is signed out
    session.flush()
    return agent


def set_status(
    agent: Agent, status: AgentStatus, *, reason: StatusChangeReason = StatusChangeReason.SYSTEM
) -> None:
    """Change the agent's presence, remembering when (routing's "longest idle" reads it) and, for an
    agent already stored, recording the change (``agent_status_changes``, see ``status_changes``)."""
    if agent.status is status:
        return
    previous = agent.status or AgentStatus.OFFLINE
    now = utcnow()
    agent.status = status
    agent.status_changed_at = now
    session = object_session(agent)
    if session is not None and agent.id is not None:
        session.add(
            AgentStatusChange(
                agent_id=agent.id, from_status=previous, to_status=status, reason=reason, changed_at=now
            )
        )


def status_changes(session: Session, agent_id: int, *, limit: int = 20) -> Sequence[AgentStatusChange]:
    """The agent's latest presence changes, newest first."""
    return AgentRepository(session).status_changes(agent_id, limit=limit)


# -- presence: activity, auto-away, working hours ------------------------------------------------------


def record_activity(agent: Agent) -> bool:
    """Note an action of the agent in the workspace; True when ``last_active_at`` was written.

    Called once per request of a signed-in agent (``agents.dependencies``). The write is throttled to
    once per ``RELAYDESK_AGENT_ACTIVITY_WRITE_SECONDS`` (60 s): auto-away needs minutes, not every click.
    """
    now = utcnow()
    every = timedelta(seconds=get_settings().agent_activity_write_seconds)
    if agent.last_active_at is not None and now - agent.last_active_at < every:
        return False
    agent.last_active_at = now
    return True


def auto_away(session: Session) -> list[int]:
    """Set online agents idle for ``RELAYDESK_AUTO_AWAY_MINUTES`` to away; returns their ids.

    Idle means no action in the workspace (``last_active_at``) and no change of status since the
    limit. An agent who never acted in the workspace (presence kept by the API or the demo seed) is
    left alone: there is no inactivity to judge.
    """
    minutes = get_settings().auto_away_minutes
    if minutes <= 0:
        return []
    cutoff = utcnow() - timedelta(minutes=minutes)
    changed = []
    for agent in AgentRepository(session).idle_online_agents(cutoff):
        set_status(agent, AgentStatus.AWAY, reason=StatusChangeReason.AUTO_AWAY)
        changed.append(agent.id)
        log.info(
            "agent %s set to away: no action since %s (limit %s minutes)",
            agent.id,
            agent.last_active_at,
            minutes,
        )
    session.flush()
    return changed


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Validated at the edge (schemas); a zone that vanished from tzdata must not stop routing.
        log.warning("unknown time zone %r; reading working hours in UTC", name)
        return ZoneInfo("UTC")


def _minute_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def available_now(agent: Agent, at: datetime | None = None) -> bool:
    """Whether ``at`` (default: now) falls inside the agent's working hours, read on the wall clock of
    the agent's time zone (so 09:00-17:00 stays 09:00-17:00 across daylight-saving changes).

    No schedule at all means always inside; with a schedule, a day not listed is a day off. A span
    includes its start and excludes its end; a night shift is two spans: ``"mon": ["22:00-24:00"],
    "tue": ["00:00-06:00"]``. Presence (``status``) is not looked at: routing checks it separately.
    """
    return _inside_hours(agent.working_hours, agent.timezone, at)


def _inside_hours(schedule: dict[str, list[str]] | None, timezone: str, at: datetime | None) -> bool:
    """``available_now`` on the two columns it reads (the router checks them on rows, not objects)."""
    if not schedule:
        return True
    local = as_utc(at if at is not None else utcnow()).astimezone(_zone(timezone))
    minute = local.hour * 60 + local.minute
    for span in schedule.get(_WEEKDAYS[local.weekday()], []):
        start, end = span.split("-")
        if _minute_of_day(start) <= minute < _minute_of_day(end):
            return True
    return False


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


def _parent(session: Session, parent_id: int) -> Team:
    team = AgentRepository(session).get_team(parent_id)
    if team is None:
        raise ValidationFailedError(
            f"No team with id {parent_id} to overflow to.", details={"field": "parent_id"}
        )
    return team


def _check_parent(session: Session, team: Team, parent_id: int) -> None:
    # Overflow climbs parent_id: a loop would send work round forever.
    seen = {team.id}
    parent: Team | None = _parent(session, parent_id)
    while parent is not None:
        if parent.id in seen:
            raise ValidationFailedError(
                f"Team {parent_id} cannot be the parent of {team.name!r}: overflow would loop back to it.",
                details={"field": "parent_id"},
            )
        seen.add(parent.id)
        parent = AgentRepository(session).get_team(parent.parent_id) if parent.parent_id else None


def set_team_members(session: Session, team_id: int, agent_ids: Iterable[int]) -> Team:
    """Make exactly these agents the team's members (others leave it; their other teams are kept)."""
    team = get_team(session, team_id)
    repo = AgentRepository(session)
    wanted = set(agent_ids)
    found = {agent.id: agent for agent in repo.agents_by_ids(wanted)}
    missing = sorted(wanted - found.keys())
    if missing:
        raise ValidationFailedError(f"Unknown agent ids {missing}.", details={"field": "members"})
    current = {agent.id: agent for agent in repo.list_agents(team_id=team_id)}
    for agent_id, agent in current.items():
        if agent_id not in wanted:
            agent.memberships = [m for m in agent.memberships if m.team_id != team_id]
    for agent_id in sorted(wanted - current.keys()):
        found[agent_id].memberships.append(TeamMembership(team_id=team_id))
    session.flush()
    session.expire(team, ["memberships"])
    return team


def restricted_team_ids(session: Session) -> set[int]:
    return {team.id for team in AgentRepository(session).list_teams() if team.restricted}


def create_team(session: Session, data: TeamCreate) -> Team:
    repo = AgentRepository(session)
    if repo.team_by_name(data.name) is not None:
        raise ConflictError(f"A team named {data.name!r} already exists.", details={"field": "name"})
    if data.parent_id is not None:
        _parent(session, data.parent_id)
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
            raise ConflictError(
                f"A team named {changes['name']!r} already exists.", details={"field": "name"}
            )
    if "parent_id" in changes and changes["parent_id"] is not None:
        _check_parent(session, team, changes["parent_id"])
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

__all__ += [
    "AgentFact",
    "RoutingCandidate",
    "RoutingNeed",
    "available_agent_count",
    "lock_agent",
    "lock_free_agent",
    "parent_team_id",
    "routing_candidates",
    "team_leads",
    "teams_parents",
]


@dataclass(frozen=True)
class RoutingCandidate:
    """An agent the router may give the ticket to, and their weighted load before it."""

    id: int
    load: int


_CANDIDATE_PAGE = 16


def routing_candidates(
    session: Session,
    need: RoutingNeed,
    *,
    load: AgentFact,
    busy_since: AgentFact,
    prefer_id: int | None = None,
    at: datetime | None = None,
    limit: int = 1,
) -> list[RoutingCandidate]:
    """The best ``limit`` agents for ``need``, best first.

    Eligible: active, online, at least ``need.min_tier_level``, holding one of the skills, speaking the
    language, in one of the teams, not excluded, with room on the channel for ``load`` + ``need.adds``,
    and inside working hours at ``at`` (``available_now``). Ranked: ``prefer_id`` first, then least
    ``load``, then longest idle (the later of the last status change and ``busy_since``; an agent with
    neither counts as idle the longest), then the lowest id. The database filters, weighs and orders; working
    hours are read on the few rows it returns.
    """
    repo = AgentRepository(session)
    found: list[RoutingCandidate] = []
    offset = 0
    while len(found) < limit:
        page = repo.routing_candidates(
            need, load=load, busy_since=busy_since, prefer_id=prefer_id, offset=offset, limit=_CANDIDATE_PAGE
        )
        found += [
            RoutingCandidate(row.id, int(row.load))
            for row in page
            if _inside_hours(row.working_hours, row.timezone, at)
        ]
        if len(page) < _CANDIDATE_PAGE:
            break
        offset += len(page)
    return found[:limit]


def available_agent_count(session: Session, at: datetime | None = None) -> int:
    """Active online agents inside their working hours at ``at`` (the expected wait divides by it)."""
    return sum(
        1
        for working_hours, timezone in AgentRepository(session).online_schedules()
        if _inside_hours(working_hours, timezone, at)
    )


def parent_team_id(session: Session, team_id: int) -> int | None:
    """The team's parent (where its work overflows to); None for a top team or an unknown one."""
    team = AgentRepository(session).get_team(team_id)
    return team.parent_id if team is not None else None


def lock_agent(session: Session, agent_id: int) -> Agent:
    """The agent, locked until commit and re-read: assignments to one agent queue behind each other,
    so a capacity check stays true until the assignment commits."""
    agent = AgentRepository(session).get_agent(agent_id, for_update=True)
    if agent is None:
        raise NotFoundError(f"No agent with id {agent_id}.")
    return agent


def lock_free_agent(session: Session, agent_id: int) -> Agent | None:
    """The agent locked as ``lock_agent`` does, or None while another transaction holds the row: for
    work that must never wait for a lock (routing's sweep, which holds several tickets)."""
    return AgentRepository(session).lock_free_agent(agent_id)


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
