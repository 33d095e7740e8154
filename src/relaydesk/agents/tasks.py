"""Jobs of the agents domain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from relaydesk.agents import service
from relaydesk.jobs import periodic

__all__ = ["set_idle_agents_away"]


@periodic("agents.auto_away", every=timedelta(minutes=1))
def set_idle_agents_away(session: Session) -> None:
    """Online agents idle past RELAYDESK_AUTO_AWAY_MINUTES become away (see ``service.auto_away``)."""
    service.auto_away(session)
