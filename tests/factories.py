"""Builders for test data through the real services (never raw inserts that skip rules), and the helpers
tests in several folders share: counting rows, signing in, draining the job queue, running the CLI.

Each helper is defined once; ``tests/test_helpers_defined_once.py`` fails when a copy appears elsewhere.
A helper that only one folder's tests share lives in that folder's ``conftest.py`` beside its fixtures.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token
from relaydesk.customers.enums import IdentityKind
from relaydesk.db import Database
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket, TicketEvent
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


def form_csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page (the sign-in form's, or a signed-in page's own)."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None, html
    return token.group(1)


def sign_in_form(client, email: str, password: str, *, next_: str = "/tickets"):
    """Submit the real sign-in form (with its CSRF cookie and token) through a TestClient."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": form_csrf_token(page.text), "next": next_},
        follow_redirects=False,
    )


def sign_in_agent(client, login: Login) -> str:
    """Sign in as the agent through the real form (any earlier session's cookies dropped) and answer the
    session's CSRF token, as its pages carry it for the forms and htmx requests that write."""
    client.cookies.clear()
    response = sign_in_form(client, login.email, PASSWORD)
    assert response.status_code == 303, response.text
    return form_csrf_token(client.get("/tickets").text)


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


def count(database: Database, model: Any, *where: Any) -> int:
    """How many rows of ``model`` match ``where`` (all of them without it)."""
    with database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def events_of_kind(database: Database, kind: str) -> list[TicketEvent]:
    """Every ticket event of one kind, oldest first."""
    with database.transaction() as session:
        return list(
            session.scalars(select(TicketEvent).where(TicketEvent.kind == kind).order_by(TicketEvent.id))
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Ask a server process a test started to stop; kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``relaydesk ARGS`` as a real process with the test settings (and ``env`` on top); a non-zero
    exit fails the test unless ``check=False``."""
    result = subprocess.run(
        [sys.executable, "-m", "relaydesk.cli", *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    completed = subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"relaydesk {' '.join(args)} failed:\n{completed.stderr}")
    return completed


def ingest_text(
    db: Database, text: str, *, who: str, channel: Channel = Channel.WEB_CHAT, subject: str = ""
) -> int:
    """A customer message through the real intake (chat: a proven visitor; email: an address); the
    ticket's id. Run the jobs to process it."""
    from relaydesk.channels.base import InboundMessage
    from relaydesk.channels.intake import ingest

    chat = channel in (Channel.WEB_CHAT, Channel.IN_APP)
    with db.transaction() as session:
        result = ingest(
            session,
            InboundMessage(
                channel=channel,
                identity_kind=IdentityKind.CHAT_VISITOR if chat else IdentityKind.EMAIL,
                identity_value=who,
                text=text,
                subject=subject,
                provider_message_id=os.urandom(8).hex(),
                identity_verified=chat,
                identity_proven=chat,
            ),
        )
        return result.ticket_id


def load_ticket(db: Database, ticket_id: int) -> Ticket:
    with db.transaction(read_only=True) as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def ticket_events(db: Database, ticket_id: int, kind: str | None = None) -> list[TicketEvent]:
    """One ticket's events (of one kind), oldest first."""
    with db.transaction(read_only=True) as session:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        if kind is not None:
            query = query.where(TicketEvent.kind == kind)
        return list(session.scalars(query))


def copy_policies_with(folder: Path, file_name: str, old: str, new: str) -> Path:
    """The shipped policy folder copied into ``folder`` with one edit (``old`` -> ``new``) in one file."""
    for path in Path("policies").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    target = folder / file_name
    text = target.read_text(encoding="utf-8")
    assert old in text, old
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def write_policy(path: Path, text: str) -> None:
    """Write a policy file so the loader's mtime check sees the change even on coarse file systems."""
    path.write_text(text, encoding="utf-8")
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))
