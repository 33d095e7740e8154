"""The workspace's one table: each agent's saved inbox views (per-agent view state, nothing else)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType
from relaydesk.kit.time import utcnow

__all__ = ["SavedView"]


class SavedView(IdMixin, Base):
    """Filters an agent named and keeps in the inbox's sidebar, in ``position`` order.

    ``filters`` holds ``workspace.views.InboxFilters`` as JSON, validated on the way in and again on
    the way out (a view saved before a filter was renamed shows as invalid instead of failing)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("agent_id", "name"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
