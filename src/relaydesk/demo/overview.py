"""After seeding: run the jobs the seed enqueued (triage, then routing), let the demo agents take the
work offered to them, and describe the demo's tickets.

``relaydesk demo`` calls all three, so the first page a new user opens already shows triaged tickets
in their queues with assignees, and the command's output says what triage decided and what to try.
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
from relaydesk.kit.errors import ConflictError
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import MessageCreate
from relaydesk.triage import service as triage

__all__ = ["TicketLine", "run_pending_jobs", "take_offered_work", "ticket_overview"]

# What a demo agent notes on a ticket they took at the start: their first action on it, so routing's
# reclaim (for an assignee who does nothing) leaves the demo's assignments in place.
TAKEN_NOTE = "Taken from the queue when the desk opened; looking into it."


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


def take_offered_work(database: Database) -> list[int]:
    """The demo agents accept the offers open at the start, as a staffed desk would, and note each
    ticket they took; returns the ids taken. Nobody sits at the demo agents' desks, so without this an
    offer would wait for a person to sign in as its agent (and then run out, and the next). Offers made
    later (a new widget chat) wait for a person as usual. Each acceptance is its own transaction: one
    ticket, then one agent (routing's lock order)."""
    with database.transaction(read_only=True) as session:
        offered = [
            (offer.id, agent.id)
            for agent in agents.list_agents(session, active=True)
            for offer in routing.pending_offers(session, agent.id)
        ]
    taken: list[tuple[int, int]] = []
    for offer_id, agent_id in offered:
        try:
            with database.transaction() as session:
                accepted = routing.accept_offer(session, offer_id, agents.get_agent(session, agent_id))
                taken.append((accepted.id, agent_id))
        except ConflictError:
            continue  # moved on meanwhile (or the agent filled up): it stays with routing
    # Noted after the acceptance committed, so the note is the assignee's first action since it.
    for ticket_id, agent_id in taken:
        with database.transaction() as session:
            ticket = tickets.lock_ticket(session, ticket_id)
            if ticket is not None and ticket.assignee_id == agent_id:
                note = MessageCreate(body=TAKEN_NOTE, public=False)
                tickets.add_agent_message(session, ticket, note, agent_id)
    return [ticket_id for ticket_id, _ in taken]


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
    level: str = "frontline"  # the escalation level (a phrase rule may have raised it)


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
                level=ticket.escalation_level.value,
            )
        )
    return lines
