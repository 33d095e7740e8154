"""Job handlers for the throughput benchmark."""

from __future__ import annotations

from sqlalchemy.orm import Session

from relaydesk.jobs import task


@task("bench.noop")
def noop(session: Session, **_: object) -> None:
    """Does nothing: the benchmark measures the queue itself (lease, run transaction, complete)."""
