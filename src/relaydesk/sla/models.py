"""Tables of SLA: one clock per ticket and target, and how far SLA has followed each ticket's events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, enum_column
from relaydesk.sla.enums import ClockState, SlaTarget

__all__ = ["SlaClock", "SlaFollow"]


class SlaClock(IdMixin, Base):
    """One target of one ticket (a next response or periodic update restarts the row: ``cycle``).

    Business time is counted as ``elapsed_seconds`` up to ``running_since`` plus the calendar's time
    since then. ``due_at`` and ``at_risk_at`` are wall-clock moments computed from the calendar when
    the clock (re)starts; the tick reads only rows whose moment has come, through the two indexes,
    so its cost grows with the due clocks and not with the open tickets. Paused or finished: both NULL.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target"),
        Index("ix_sla_clocks_state_due_at", "state", "due_at"),
        Index("ix_sla_clocks_state_at_risk_at", "state", "at_risk_at"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target: Mapped[SlaTarget] = mapped_column(enum_column(SlaTarget))
    state: Mapped[ClockState] = mapped_column(enum_column(ClockState))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    # The sla entry that set the target, and the version (hash) of the sla file it came from.
    policy_name: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(32))
    calendar: Mapped[str] = mapped_column(String(80))
    target_seconds: Mapped[int] = mapped_column(Integer)
    at_risk_share: Mapped[float] = mapped_column(Float)
    elapsed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime]
    running_since: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    at_risk_at: Mapped[datetime | None]
    at_risk_reached_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class SlaFollow(Base):
    """The last ticket event SLA applied to a ticket's clocks (events are applied in order, once)."""

    __tablename__ = "sla_follows"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
