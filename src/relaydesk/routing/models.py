"""Tables of the routing domain: who a ticket was offered to, and where each routed ticket stands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from relaydesk.auth.roles import Role
from relaydesk.db import Base, IdMixin, JSONType, enum_column
from relaydesk.kit.time import utcnow
from relaydesk.routing.enums import OfferState
from relaydesk.tickets.enums import Channel, QueueKind

__all__ = ["RoutingOffer", "RoutingState"]

_OPEN = text("state = 'offered'")


class RoutingOffer(IdMixin, Base):
    """One offer of one ticket to one agent; at most one open offer per ticket (unique partial index)."""

    __tablename__ = "routing_offers"
    __table_args__ = (
        Index(
            "uq_routing_offers_open_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_routing_offers_agent_id_state", "agent_id", "state"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    state: Mapped[OfferState] = mapped_column(enum_column(OfferState), default=OfferState.OFFERED)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(500), default="")


class RoutingState(Base):
    """Where a routed ticket stands: its queue and place in it, or its assignee and reclaim time.

    The order key (priority, VIP, due time) and what eligibility needs (skill, language, tier, team,
    channel) are copied here when the ticket is routed, so the queue is read and ordered from this table
    alone, through one index. ``overflow_due_at`` and ``reclaim_due_at`` are the next moments the
    periodic sweep has work on the row: it reads only rows that are due.
    """

    __tablename__ = "routing_states"
    __table_args__ = (
        # "Longest idle" ranks agents by their last assignment: one index probe per candidate.
        Index("ix_routing_states_assignee_id_assigned_at", "assignee_id", "assigned_at"),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    queue: Mapped[QueueKind] = mapped_column(enum_column(QueueKind))
    waiting: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    priority_rank: Mapped[int] = mapped_column(Integer)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime]
    queued_at: Mapped[datetime]
    customer_id: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    skill: Mapped[str | None] = mapped_column(String(80))
    min_level: Mapped[int] = mapped_column(Integer, default=1)
    language: Mapped[str | None] = mapped_column(String(16))
    tier_level: Mapped[int] = mapped_column(Integer, default=1)
    # The least role the ticket's escalation level needs (a team-lead level: leads and above); None: any.
    min_role: Mapped[Role | None] = mapped_column(enum_column(Role))
    # 0: as configured; 1: secondary skills count; 2: the parent team's agents too.
    overflow_stage: Mapped[int] = mapped_column(Integer, default=0)
    overflow_due_at: Mapped[datetime | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    assigned_at: Mapped[datetime | None]
    reclaim_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Agents this ticket is not offered to again (declined, let an offer expire, lost it on inaction).
    excluded_agent_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)

    @validates("language")
    def _lower_language(self, _key: str, language: str | None) -> str | None:
        # Agents' languages are stored lower-case; so is this, so the queue read compares the plain
        # column (which the planner has statistics for) instead of lower(language).
        return language.lower() if language else language


# The queue read (``repository.ORDER``): the same columns in the same directions, so the database walks
# the index in order and stops at the LIMIT instead of sorting the queue (declared here: the descending
# columns are expressions on the mapped columns).
Index(
    "ix_routing_states_queue_order",
    RoutingState.queue,
    RoutingState.waiting,
    RoutingState.priority_rank.desc(),
    RoutingState.vip.desc(),
    RoutingState.due_at,
    RoutingState.ticket_id,
)
