"""Builders for test data through the real services (never raw inserts that skip rules)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token
from relaydesk.customers.models import IdentityKind
from relaydesk.db import Database
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import CustomerRef, TicketCreate

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass(frozen=True)
class Login:
    agent_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_team(db: Database, name: str, *, restricted: bool = False) -> int:
    with db.transaction() as session:
        return agents.create_team(session, TeamCreate(name=name, restricted=restricted)).id


def make_agent(db: Database, role: Role = Role.AGENT, team_ids: list[int] | None = None) -> Login:
    n = next(_counter)
    email = f"agent{n}@example.com"
    with db.transaction() as session:
        agent = agents.create_agent(
            session,
            AgentCreate(
                email=email, name=f"Agent {n}", password=PASSWORD, role=role, team_ids=team_ids or []
            ),
        )
        token = create_token(session, name="test", role=role, agent_id=agent.id)
        return Login(agent.id, email, token.plaintext)


def make_ticket(
    db: Database,
    *,
    team_id: int | None = None,
    email: str = "customer@example.com",
    body: str = "My order has not arrived",
    channel: Channel = Channel.EMAIL,
) -> int:
    with db.transaction() as session:
        ticket = tickets.create_ticket(
            session,
            TicketCreate(
                body=body,
                customer=CustomerRef(kind=IdentityKind.EMAIL, value=email),
                channel=channel,
                team_id=team_id,
            ),
            Actor(AuthorKind.SYSTEM),
        )
        return ticket.id


def run_jobs(db: Database) -> int:
    """Drain the job queue with the real worker, every domain's handlers registered (as in a worker)."""
    from relaydesk.jobs import discover_tasks
    from relaydesk.jobs.worker import Worker

    discover_tasks()
    worker = Worker(db, schedule_periodic=False)
    total = 0
    while ran := worker.run_once():
        total += ran
    return total
