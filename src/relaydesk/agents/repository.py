"""Every query of the agents domain."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.models import Agent, AgentSkill, AgentStatusChange, Team, TeamMembership

__all__ = ["AgentRepository"]


class AgentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_agent(self, agent_id: int, *, for_update: bool = False) -> Agent | None:
        if for_update:
            return self.session.get(Agent, agent_id, with_for_update=True, populate_existing=True)
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
        *,
        skills: dict[str, int] | None,
        min_tier_level: int,
        team_ids: Collection[int] | None,
        exclude_ids: Collection[int],
    ) -> Sequence[Agent]:
        stmt = select(Agent).where(
            Agent.active.is_(True), Agent.status == AgentStatus.ONLINE, Agent.tier_level >= min_tier_level
        )
        if skills:
            # Indexed on (skill, level): the agents holding one of the skills at its level.
            holders = select(AgentSkill.agent_id).where(
                or_(
                    *(
                        and_(AgentSkill.skill == skill, AgentSkill.level >= level)
                        for skill, level in skills.items()
                    )
                )
            )
            stmt = stmt.where(Agent.id.in_(holders))
        if team_ids is not None:
            members = select(TeamMembership.agent_id).where(TeamMembership.team_id.in_(list(team_ids)))
            stmt = stmt.where(Agent.id.in_(members))
        if exclude_ids:
            stmt = stmt.where(Agent.id.not_in(list(exclude_ids)))
        return self.session.scalars(stmt.order_by(Agent.id)).all()
