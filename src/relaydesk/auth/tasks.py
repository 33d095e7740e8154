"""Jobs of auth: forgetting sign-in sessions and throttles that no longer decide anything."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from relaydesk.auth import sessions, throttle
from relaydesk.jobs import periodic
from relaydesk.settings import get_settings

__all__ = ["purge_ended_sign_ins"]

# An ended session is kept a week (who signed in from where, for a person looking into an incident).
SESSIONS_KEPT_FOR = timedelta(days=7)
# A key quiet this long is forgotten: an address's failures lapse after minutes anyway, and an
# account's lock doubling starts over after a month without a wrong password.
THROTTLES_KEPT_FOR = timedelta(days=30)


@periodic("auth.purge_ended_sign_ins", every=timedelta(hours=1))
def purge_ended_sign_ins(session: Session) -> None:
    """Delete ended sign-in sessions and quiet sign-in throttles, which would otherwise pile up."""
    idle = timedelta(seconds=get_settings().session_idle_seconds)
    sessions.purge_ended_sessions(session, idle=idle, kept_for=SESSIONS_KEPT_FOR)
    throttle.purge_quiet(session, quiet_for=THROTTLES_KEPT_FOR)
