"""Tables of the agents domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relaydesk.agents.enums import AgentStatus, StatusChangeReason
from relaydesk.auth.roles import Role
from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin, enum_column
from relaydesk.kit.time import utcnow

__all__ = ["Agent", "AgentSkill", "AgentStatus", "AgentStatusChange", "Team", "TeamMembership"]


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    # Work of a restricted team (legal, security) is visible only to its members and managers up.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where this team's work overflows or escalates to when it waits too long.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))

    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )


class Agent(IdMixin, TimestampMixin, Base):
    __tablename__ = "agents"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.AGENT)
    # 1 = frontline, 2 = tier 2, ... matched against a ticket's escalation level when routing.
    tier_level: Mapped[int] = mapped_column(Integer, default=1)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Concurrent conversations per channel, e.g. {"web_chat": 3, "email": 10}.
    capacity: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    status: Mapped[AgentStatus] = mapped_column(enum_column(AgentStatus), default=AgentStatus.OFFLINE)
    # When ``status`` last changed (routing's "longest idle" and the supervisor view read it).
    status_changed_at: Mapped[datetime | None]
    # The agent's last action in the workspace; auto-away compares it with the inactivity limit.
    last_active_at: Mapped[datetime | None]
    # IANA time zone of the agent's working hours, e.g. "Europe/Berlin".
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Weekly schedule in the agent's time zone: {"mon": ["09:00-17:00"], ...}; empty means no
    # schedule (available whenever online).
    working_hours: Mapped[dict[str, list[str]]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )
    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def team_ids(self) -> list[int]:
        return sorted(m.team_id for m in self.memberships)


class TeamMembership(Base):
    __tablename__ = "team_memberships"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)

    agent: Mapped[Agent] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(back_populates="memberships")


class AgentSkill(IdMixin, Base):
    __tablename__ = "agent_skills"
    __table_args__ = (
        UniqueConstraint("agent_id", "skill"),
        # Routing's candidate query: who holds this skill at this level or above.
        Index("ix_agent_skills_skill_level", "skill", "level"),
    )

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    skill: Mapped[str] = mapped_column(String(80))
    level: Mapped[int] = mapped_column(Integer, default=1)

    agent: Mapped[Agent] = relationship(back_populates="skills")


class AgentStatusChange(IdMixin, Base):
    """One change of an agent's presence: from what, to what, when, and who or what made it."""

    __tablename__ = "agent_status_changes"
    __table_args__ = (Index("ix_agent_status_changes_agent_id_changed_at", "agent_id", "changed_at"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    from_status: Mapped[AgentStatus] = mapped_column(enum_column(AgentStatus))
    to_status: Mapped[AgentStatus] = mapped_column(enum_column(AgentStatus))
    reason: Mapped[StatusChangeReason] = mapped_column(enum_column(StatusChangeReason))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
