"""After seeding: run the jobs the seed enqueued (triage, then routing) and describe the demo's tickets.

``relaydesk demo`` calls both, so the first page a new user opens already shows triaged tickets, and
the command's output says what triage decided and what to try.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.db import Database
from relaydesk.jobs.registry import discover_tasks
from relaydesk.jobs.worker import Worker
from relaydesk.tickets.models import Ticket
from relaydesk.triage import service as triage

__all__ = ["TicketLine", "run_pending_jobs", "ticket_overview"]


def run_pending_jobs(database: Database, *, max_seconds: float = 60.0) -> int:
    """Run the due jobs until none is left (or ``max_seconds`` passed); returns how many ran.

    The same worker ``relaydesk serve`` runs in a thread, without the periodic schedule: a job that
    fails (a channel with no provider configured) goes back to the queue with its backoff and is the
    server's worker's to retry.
    """
    discover_tasks()
    worker = Worker(database, schedule_periodic=False, name="relaydesk-demo-seed")
    deadline = time.monotonic() + max_seconds
    ran = 0
    while time.monotonic() < deadline:
        batch = worker.run_once()
        if batch == 0:
            break
        ran += batch
    return ran


@dataclass(frozen=True)
class TicketLine:
    id: int
    subject: str
    channel: str
    status: str
    priority: str
    category: str | None
    confidence: float | None  # the category model's, when it decided
    needs_triage: bool
    queue: str | None
    assignee: str | None


def ticket_overview(session: Session) -> list[TicketLine]:
    """Every ticket with what triage (and routing, once it runs) made of it, oldest first."""
    lines = []
    for ticket in session.scalars(select(Ticket).order_by(Ticket.id)):
        record = triage.triage_of(session, ticket.id)
        category = (record.predictions.get("category") or {}) if record is not None else {}
        assignee = agents.get_agent(session, ticket.assignee_id).name if ticket.assignee_id else None
        lines.append(
            TicketLine(
                id=ticket.id,
                subject=ticket.subject,
                channel=ticket.channel.value,
                status=ticket.status.value,
                priority=ticket.priority.value,
                category=ticket.category,
                confidence=category.get("confidence"),
                needs_triage=triage.NEEDS_TRIAGE_FLAG in ticket.flags,
                queue=ticket.queue.value if ticket.queue is not None else None,
                assignee=assignee,
            )
        )
    return lines
