"""Builders for test data through the real services (never raw inserts that skip rules)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token
from relaydesk.customers.enums import IdentityKind
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


def session_cookie(db: Database, agent_id: int) -> tuple[str, str]:
    """A signed-in session for the agent, as the sign-in form makes it: (cookie value, CSRF token)."""
    from relaydesk.agents.dependencies import session_signer
    from relaydesk.auth.sessions import start_session

    with db.transaction() as session:
        record = start_session(session, agent_id, lifetime=timedelta(hours=1))
        cookie, data = session_signer().issue(record.id)
    return cookie, data.csrf_token


def sign_in_form(client, email: str, password: str, *, next_: str = "/tickets"):
    """Submit the real sign-in form (with its CSRF cookie and token) through a TestClient."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": next_},
        follow_redirects=False,
    )


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
