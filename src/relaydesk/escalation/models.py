"""Tables of the escalation domain: every move of a ticket on the ladder, and its open acknowledgement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, enum_column
from relaydesk.escalation.enums import AckState, EscalationMove
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import AuthorKind, EscalationLevel

__all__ = ["Escalation"]

_AWAITING = text("ack_state = 'awaiting'")


class Escalation(IdMixin, Base):
    """One move (up, sideways or down) with who, from, to, why, the handoff note and the policy version.

    At most one escalation of a ticket awaits acknowledgement (unique partial index): a later move
    supersedes the one before it. ``ack_due_at`` is the pickup target; the job that checks it is
    enqueued with that ``run_at``.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_ticket_id_id", "ticket_id", "id"),
        Index(
            "uq_escalations_awaiting_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=_AWAITING,
            postgresql_where=_AWAITING,
        ),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    move: Mapped[EscalationMove] = mapped_column(enum_column(EscalationMove))
    # The path (by name) the ticket climbs; kept so a team change on the way keeps the same path.
    path: Mapped[str] = mapped_column(String(80))
    from_level: Mapped[EscalationLevel] = mapped_column(enum_column(EscalationLevel))
    to_level: Mapped[EscalationLevel] = mapped_column(enum_column(EscalationLevel))
    from_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    to_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    # Who held the ticket before the move: a de-escalation gives it back to them when it can.
    from_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_kind: Mapped[AuthorKind] = mapped_column(enum_column(AuthorKind))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    policy_version: Mapped[str] = mapped_column(String(64))
    ack_state: Mapped[AckState] = mapped_column(enum_column(AckState))
    ack_due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
