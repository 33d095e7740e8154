"""Parallel workers on PostgreSQL: a ticket is assigned once, and no agent goes past capacity."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.kit.errors import ConflictError
from relaydesk.routing import service as routing
from relaydesk.tickets.enums import Channel, TicketStatus
from relaydesk.tickets.models import Ticket, TicketEvent
from tests.routing.conftest import queued_ticket, routing_agent

pytestmark = pytest.mark.postgres


def _only_postgres(database) -> None:
    if database.is_sqlite:
        pytest.skip("row locks between parallel connections: the PostgreSQL case (SQLite has one writer)")


def test_parallel_pulls_and_accepts_never_double_assign_nor_exceed_capacity(database, policy, clock):
    _only_postgres(database)
    policy(mode="offer")
    # Capacity 4 on chat with weight 2: two chats each, whatever races.
    people = [routing_agent(database, f"Agent{i}", capacity={"web_chat": 4}, online=False) for i in range(4)]
    ticket_ids = [queued_ticket(database, channel=Channel.WEB_CHAT) for _ in range(12)]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def puller(agent_id: int) -> None:
        try:
            barrier.wait()
            for _ in range(6):
                with database.transaction() as session:
                    routing.next_ticket(session, agents.get_agent(session, agent_id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    # Two threads per agent: the same agent pulling twice at once must not pass its capacity either.
    threads = [threading.Thread(target=puller, args=(p.agent_id,)) for p in people for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    with database.transaction() as session:
        assigned = session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))).all()
        per_agent = Counter(t.assignee_id for t in assigned if t.assignee_id is not None)
        assignments = Counter(
            session.scalars(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.kind == "ticket.assigned", TicketEvent.ticket_id.in_(ticket_ids)
                )
            ).all()
        )
    assert sum(per_agent.values()) == 8  # four agents, two chats each
    assert all(n <= 2 for n in per_agent.values()), per_agent
    assert all(n == 1 for n in assignments.values()), assignments
    assert all(t.status is TicketStatus.OPEN for t in assigned if t.assignee_id is not None)


def test_two_accepts_of_one_offer_assign_once(database, policy, clock):
    _only_postgres(database)
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    with database.transaction() as session:
        (offer,) = routing.pending_offers(session, ann.agent_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept() -> None:
        barrier.wait()
        try:
            with database.transaction() as session:
                routing.accept_offer(session, offer.id, agents.get_agent(session, ann.agent_id))
            outcomes.append("accepted")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["accepted", "conflict"]
    with database.transaction() as session:
        kinds = session.scalars(
            select(TicketEvent.kind).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "ticket.assigned"
            )
        ).all()
    assert kinds == ["ticket.assigned"]


def test_assign_mode_sweep_beside_routing_and_pulls_never_deadlocks_nor_double_assigns(
    database, policy, clock
):
    """The sweep (many tickets in one transaction) beside route_ticket and pulls (one ticket, then one
    agent each), in ``assign`` mode where the sweep locks agents too: the lock order of the README holds,
    so PostgreSQL never has to abort one of them as a deadlock."""
    _only_postgres(database)
    policy(mode="assign")
    # Email weighs 1: five tickets each. Offline while the tickets arrive, so they all wait unassigned.
    people = [routing_agent(database, f"Agent{i}", capacity={"email": 5}, online=False) for i in range(4)]
    ticket_ids = [queued_ticket(database, channel=Channel.EMAIL) for _ in range(40)]
    with database.transaction() as session:
        for person in people:
            agents.set_status(agents.get_agent(session, person.agent_id), AgentStatus.ONLINE)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            barrier.wait()
            for step in range(8):
                with database.transaction() as session:
                    work(session, step)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def sweeper(session, _step: int) -> None:
        routing.sweep(session)

    def router(order: list[int]):
        # A retried routing.route_ticket job: one ticket per transaction, as the job runs.
        return lambda session, step: routing.route_ticket(session, order[step])

    def puller(agent_id: int):
        return lambda session, _step: routing.next_ticket(session, agents.get_agent(session, agent_id))

    workers = [
        sweeper,
        sweeper,
        router(ticket_ids[::-1]),
        router(ticket_ids[::2]),
        *(puller(p.agent_id) for p in people),
    ]
    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == [], errors  # no deadlock aborted anyone
    with database.transaction() as session:
        routing.sweep(session)  # anything a busy row made the parallel sweeps leave is taken now
    with database.transaction() as session:
        assigned = session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))).all()
        per_agent = Counter(t.assignee_id for t in assigned if t.assignee_id is not None)
        assignments = Counter(
            session.scalars(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.kind == "ticket.assigned", TicketEvent.ticket_id.in_(ticket_ids)
                )
            ).all()
        )
    assert per_agent == {p.agent_id: 5 for p in people}  # every agent full, none past capacity
    assert all(n == 1 for n in assignments.values()), assignments  # nobody's ticket assigned twice
    assert sum(assignments.values()) == 20
