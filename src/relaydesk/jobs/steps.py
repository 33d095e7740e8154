"""Commit, then call, then record: how a job calls a provider without holding a transaction open.

A job's own transaction commits its effects together with its completion. A network call inside it
would hold its locks for as long as the provider takes (on SQLite, the one writer lock that every
request needs). A job that calls out instead writes what it is about to do in a ``committed_step``,
makes the call with no transaction open, and records the result in its own session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

__all__ = ["committed_step"]


@contextmanager
def committed_step(session: Session) -> Iterator[Session]:
    """A unit of work beside the job's session, committed when the block ends.

    Only for long jobs (``@task(..., lease_seconds=...)`` or ``@periodic(..., lease_seconds=...)``)
    and before the handler touches its own
    session: their completion is claimed after the handler returns, so a crash during the call that
    follows leaves the job to be retried, and the job's own transaction has not begun (on SQLite it
    would hold the writer lock this step needs).
    """
    bind = session.get_bind()
    if isinstance(bind, Connection):
        if bind.in_transaction():
            raise RuntimeError("a committed step must come before the job's own transaction writes")
        engine: Engine = bind.engine
    else:
        engine = bind
    with Session(engine, expire_on_commit=False) as step, step.begin():
        yield step
