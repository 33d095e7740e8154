"""The periodic cleanup forgets ended sign-in sessions and quiet throttles, and keeps what still counts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from relaydesk.auth.models import AgentSession, LoginThrottle
from relaydesk.jobs import enqueue
from relaydesk.kit.time import utcnow
from tests.factories import make_agent, run_jobs


def test_purge_deletes_ended_sessions_and_quiet_throttles_only(database):
    agent = make_agent(database)
    now = utcnow()
    days = timedelta(days=1)
    with database.transaction() as session:

        def signed_in(name: str, *, ago: timedelta, last_seen_ago: timedelta, **ended) -> None:
            session.add(
                AgentSession(
                    id=name,
                    agent_id=agent.agent_id,
                    created_at=now - ago,
                    last_seen_at=now - last_seen_ago,
                    **{"expires_at": now - ago + timedelta(hours=12), **ended},
                )
            )

        signed_in("live", ago=timedelta(hours=1), last_seen_ago=timedelta(minutes=1))
        signed_in("revoked-yesterday", ago=2 * days, last_seen_ago=2 * days, revoked_at=now - days)
        signed_in("revoked-long-ago", ago=9 * days, last_seen_ago=9 * days, revoked_at=now - 8 * days)
        signed_in("expired-long-ago", ago=9 * days, last_seen_ago=9 * days)
        signed_in("idle-long-ago", ago=10 * days, last_seen_ago=10 * days, expires_at=now + days)
        for key, last_failure, blocked_until in [
            ("account:quiet@example.com", now - 40 * days, None),
            ("address:10.0.0.1", now - 31 * days, now - 31 * days),
            ("account:recent@example.com", now - 2 * days, None),
            ("account:locked@example.com", now - 40 * days, now + days),
        ]:
            session.add(
                LoginThrottle(
                    key=key,
                    failures=3,
                    block_count=1,
                    last_failure_at=last_failure,
                    blocked_until=blocked_until,
                )
            )
        enqueue(session, "auth.purge_ended_sign_ins")  # what the scheduler does every hour
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        sessions = set(session.scalars(select(AgentSession.id)))
        throttles = set(session.scalars(select(LoginThrottle.key)))
    assert sessions == {"live", "revoked-yesterday"}
    assert throttles == {"account:recent@example.com", "account:locked@example.com"}
