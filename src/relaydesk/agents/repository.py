"""Every query of the agents domain."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, exists, func, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, lazyload

from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.models import Agent, AgentSkill, AgentStatusChange, Team, TeamMembership
from relaydesk.auth.roles import Role

__all__ = ["AgentFact", "AgentRepository", "RoutingNeed"]


class AgentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_agent(self, agent_id: int, *, for_update: bool = False) -> Agent | None:
        if for_update:
            # The lock re-reads the row only: skills and teams load again if asked for, not every time
            # (the router locks an agent to check capacity and assign, and reads neither).
            return self.session.get(
                Agent,
                agent_id,
                with_for_update=True,
                populate_existing=True,
                options=[lazyload(Agent.skills), lazyload(Agent.memberships)],
            )
        return self.session.get(Agent, agent_id)

    def lock_free_agent(self, agent_id: int) -> Agent | None:
        """The agent locked and re-read, or None when another transaction holds the row (not waited for)."""
        stmt = (
            select(Agent)
            .where(Agent.id == agent_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self.session.scalar(stmt)

    def agent_by_email(self, email: str) -> Agent | None:
        return self.session.scalar(select(Agent).where(func.lower(Agent.email) == email.lower()))

    def list_agents(self, *, team_id: int | None = None, active: bool | None = None) -> Sequence[Agent]:
        stmt = select(Agent).order_by(Agent.id)
        if team_id is not None:
            stmt = stmt.where(Agent.memberships.any(team_id=team_id))
        if active is not None:
            stmt = stmt.where(Agent.active.is_(active))
        return self.session.scalars(stmt).all()

    def get_team(self, team_id: int) -> Team | None:
        return self.session.get(Team, team_id)

    def team_by_name(self, name: str) -> Team | None:
        return self.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))

    def list_teams(self) -> Sequence[Team]:
        return self.session.scalars(select(Team).order_by(Team.id)).all()

    def teams_by_ids(self, ids: list[int]) -> Sequence[Team]:
        return self.session.scalars(select(Team).where(Team.id.in_(ids))).all()

    def agents_by_ids(self, ids: Iterable[int]) -> Sequence[Agent]:
        return self.session.scalars(select(Agent).where(Agent.id.in_(list(ids))).order_by(Agent.id)).all()

    def idle_online_agents(self, cutoff: datetime) -> Sequence[Agent]:
        """Online agents whose last action and last status change are both before ``cutoff``."""
        stmt = (
            select(Agent)
            .where(
                Agent.status == AgentStatus.ONLINE,
                Agent.last_active_at.is_not(None),
                Agent.last_active_at < cutoff,
                or_(Agent.status_changed_at.is_(None), Agent.status_changed_at < cutoff),
            )
            .order_by(Agent.id)
            .with_for_update(skip_locked=True)
        )
        return self.session.scalars(stmt).all()

    def status_changes(self, agent_id: int, *, limit: int) -> Sequence[AgentStatusChange]:
        stmt = (
            select(AgentStatusChange)
            .where(AgentStatusChange.agent_id == agent_id)
            .order_by(AgentStatusChange.changed_at.desc(), AgentStatusChange.id.desc())
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def routing_candidates(
        self,
        need: RoutingNeed,
        *,
        load: AgentFact,
        busy_since: AgentFact,
        prefer_id: int | None,
        offset: int,
        limit: int,
    ) -> Sequence[Row[int, int, dict[str, list[str]], str]]:
        """(id, load, working_hours, timezone) of the eligible agents with room, best first (see
        ``service.routing_candidates``): one statement, whatever the number of online agents."""
        stmt = select(
            Agent.id,
            Agent.working_hours,
            Agent.timezone,
            Agent.status_changed_at,
            func.coalesce(Agent.capacity[need.channel].as_integer(), need.default_capacity).label("capacity"),
            load(Agent.id.expression).label("load"),
            busy_since(Agent.id.expression).label("busy_since"),
        ).where(
            Agent.active.is_(True),
            Agent.status == AgentStatus.ONLINE,
            Agent.tier_level >= need.min_tier_level,
        )
        if need.skills:
            # Indexed on (skill, level): the agents holding one of the skills at its level.
            holders = select(AgentSkill.agent_id).where(
                or_(
                    *(
                        and_(AgentSkill.skill == skill, AgentSkill.level >= level)
                        for skill, level in need.skills.items()
                    )
                )
            )
            stmt = stmt.where(Agent.id.in_(holders))
        if need.min_role is not None:
            stmt = stmt.where(Agent.role.in_([role for role in Role if role.at_least(need.min_role)]))
        if need.language:
            stmt = stmt.where(self._speaks(need.language.lower()))
        if need.team_ids is not None:
            members = select(TeamMembership.agent_id).where(TeamMembership.team_id.in_(list(need.team_ids)))
            stmt = stmt.where(Agent.id.in_(members))
        if need.exclude_ids:
            stmt = stmt.where(Agent.id.not_in(list(need.exclude_ids)))
        eligible = stmt.cte("eligible")
        if self._postgres:
            # Materialised, so each agent's load and last assignment are read once, then filtered and
            # sorted (PostgreSQL would otherwise inline the CTE and repeat them in WHERE and ORDER BY).
            # Not on SQLite: before 3.35 it did not know the keyword, and its embedded deployments
            # are small enough that a repeated probe does not matter.
            eligible = eligible.prefix_with("MATERIALIZED")
        idle_since = case(
            (eligible.c.busy_since.is_(None), eligible.c.status_changed_at),
            (eligible.c.status_changed_at.is_(None), eligible.c.busy_since),
            (eligible.c.busy_since > eligible.c.status_changed_at, eligible.c.busy_since),
            else_=eligible.c.status_changed_at,
        )
        order = [eligible.c.load, idle_since.nulls_first(), eligible.c.id]
        if prefer_id is not None:
            order.insert(0, case((eligible.c.id == prefer_id, 0), else_=1))
        ranked = (
            select(eligible.c.id, eligible.c.load, eligible.c.working_hours, eligible.c.timezone)
            .where(eligible.c.load + need.adds <= eligible.c.capacity)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        return self.session.execute(ranked).all()

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _speaks(self, language: str) -> ColumnElement[bool]:
        """The agent lists ``language``, or lists none."""
        if self._postgres:
            languages = type_coerce(Agent.languages, JSONB)
            return or_(languages.contains([language]), languages == type_coerce([], JSONB))
        each = func.json_each(Agent.languages).table_valued("value")
        return or_(
            func.json_array_length(Agent.languages) == 0,
            exists(select(true()).select_from(each).where(each.c.value == language)),
        )

    def online_schedules(self) -> Sequence[Row[dict[str, list[str]], str]]:
        """(working_hours, timezone) of every active online agent."""
        return self.session.execute(
            select(Agent.working_hours, Agent.timezone).where(
                Agent.active.is_(True), Agent.status == AgentStatus.ONLINE
            )
        ).all()


@dataclass(frozen=True)
class RoutingNeed:
    """What a ticket asks of the agent who takes it, as the router reads it at its overflow stage."""

    # One of these skills at its minimum level; None: no skill needed.
    skills: dict[str, int] | None
    # Spoken by the agent; an agent who lists no languages is not filtered (nothing is known either way).
    language: str | None
    min_tier_level: int
    # A member of one of these teams; None: any team.
    team_ids: Collection[int] | None
    # The ticket's channel and what it adds to an agent's load there: an agent has room while
    # load + adds stays within their capacity for it (``Agent.capacity``, else ``default_capacity``).
    channel: str
    adds: int
    default_capacity: int
    exclude_ids: Collection[int] = ()
    # At least this role (an escalation level served by leads or managers); None: any role.
    min_role: Role | None = None


# SQL for a fact about one agent that this domain does not own (their weighted load, the time of their
# last assignment), given the agent id column of the candidate query: correlated, read per candidate.
AgentFact = Callable[[ColumnElement[int]], ColumnElement[Any]]
