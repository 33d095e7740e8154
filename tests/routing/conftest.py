"""The routing tests' world: a routing policy of their own, agents with skills, and queued tickets.

Tickets reach routing the way triage releases them (status queued, event ``triage.ready_for_routing``
is triage's; here the builder calls ``tickets.change_status`` and then ``routing.service.route_ticket``
in its own transaction, as the ``routing.route_ticket`` job does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.schemas import AgentCreate, SkillIn, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token
from relaydesk.customers import service as customers
from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.customers.schemas import CustomerUpdate
from relaydesk.db import Database
from relaydesk.routing import service as routing
from relaydesk.routing.service import RoutingDecision
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, EscalationLevel, Priority, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import CustomerRef, StatusChange, TicketCreate, TicketUpdate
from tests.factories import PASSWORD, Login

SYSTEM = Actor(AuthorKind.SYSTEM)

# Short clocks so scenarios read in minutes; each test may override parts (``policy(...)``).
BASE_POLICY: dict[str, Any] = {
    "mode": "offer",
    "live": {"channels": ["web_chat", "in_app", "phone"], "present_minutes": 10, "tiers": ["vip"]},
    "queues": {
        "live": {
            "offer_timeout_seconds": 30,
            "widen_skills_after_minutes": 2,
            "parent_team_after_minutes": 5,
            "reclaim_after_minutes": 5,
        },
        "messaging": {
            "offer_timeout_seconds": 300,
            "widen_skills_after_minutes": 30,
            "parent_team_after_minutes": 60,
            "reclaim_after_minutes": 120,
        },
    },
    "categories": {
        "shipping_issue": {"skill": "shipping", "min_level": 3, "secondary_skills": ["returns"]},
        "billing_question": {"skill": "billing", "min_level": 1},
    },
    "weights": {"phone": 3, "web_chat": 2, "in_app": 2, "email": 1},
    "default_capacity": {"web_chat": 6, "in_app": 6, "phone": 3, "email": 10, "api": 10},
}


@pytest.fixture
def policy(tmp_path: Path, database: Database) -> Iterator[Any]:
    """Writes ``routing.yaml`` (BASE_POLICY updated by the keyword arguments) into a folder of its own."""
    folder = tmp_path / "policies"
    folder.mkdir()

    def write(**changes: Any) -> None:
        spec = {**BASE_POLICY, **changes}
        (folder / "routing.yaml").write_text(yaml.safe_dump({"kind": "routing", "spec": spec}))
        # A new mtime/size signature makes the loader re-read it (sizes differ between variants).
        os.utime(folder / "routing.yaml")

    write()
    os.environ["RELAYDESK_POLICY_DIR"] = str(folder)
    reset_settings_cache()
    yield write
    os.environ.pop("RELAYDESK_POLICY_DIR", None)
    reset_settings_cache()


_seq = iter(range(1, 1_000_000))


def routing_team(db: Database, name: str, parent_id: int | None = None) -> int:
    with db.transaction() as session:
        return agents.create_team(session, TeamCreate(name=name, parent_id=parent_id)).id


def routing_agent(
    db: Database,
    name: str,
    *,
    skills: dict[str, int] | None = None,
    languages: tuple[str, ...] = ("en",),
    tier: int = 1,
    capacity: dict[str, int] | None = None,
    team_ids: tuple[int, ...] = (),
    role: Role = Role.AGENT,
    online: bool = True,
    working_hours: dict[str, list[str]] | None = None,
    timezone: str = "UTC",
) -> Login:
    """An agent as the router sees them (online unless told otherwise), with an API token."""
    n = next(_seq)
    email = f"{name.lower().replace(' ', '.')}{n}@example.com"
    with db.transaction() as session:
        created = agents.create_agent(
            session,
            AgentCreate(
                email=email,
                name=name,
                password=PASSWORD,
                role=role,
                tier_level=tier,
                languages=list(languages),
                capacity=capacity or {},
                team_ids=list(team_ids),
                skills=[SkillIn(skill=s, level=lvl) for s, lvl in (skills or {}).items()],
                working_hours=working_hours or {},
                timezone=timezone,
            ),
        )
        if online:
            agents.set_status(created, AgentStatus.ONLINE)
        token = create_token(session, name="test", role=role, agent_id=created.id)
        return Login(created.id, email, token.plaintext)


def queued_ticket(
    db: Database,
    *,
    channel: Channel = Channel.EMAIL,
    category: str | None = None,
    priority: Priority = Priority.NORMAL,
    language: str | None = "en",
    team_id: int | None = None,
    email: str | None = None,
    tier: CustomerTier = CustomerTier.STANDARD,
    level: EscalationLevel = EscalationLevel.FRONTLINE,
    route: bool = True,
) -> int:
    """A ticket released for routing (status queued), routed at once unless ``route=False``."""
    with db.transaction() as session:
        created = tickets.create_ticket(
            session,
            TicketCreate(
                body="Where is my parcel?",
                customer=CustomerRef(kind=IdentityKind.EMAIL, value=email or f"c{next(_seq)}@example.com"),
                channel=channel,
                priority=priority,
                category=category,
                team_id=team_id,
            ),
            SYSTEM,
        )
        if tier is not CustomerTier.STANDARD:
            customers.update_customer(session, created.customer_id, CustomerUpdate(tier=tier))
        tickets.update_ticket(
            session, created, TicketUpdate(language=language, escalation_level=level), SYSTEM
        )
        tickets.change_status(session, created, StatusChange(status=TicketStatus.QUEUED), SYSTEM)
        ticket_id = created.id
    if route:
        route_now(db, ticket_id)
    return ticket_id


def route_now(db: Database, ticket_id: int) -> RoutingDecision | None:
    with db.transaction() as session:
        return routing.route_ticket(session, ticket_id)


def offer_of(db: Database, ticket_id: int) -> tuple[int, int] | None:
    """(offer id, agent id) of the ticket's open offer, or None."""
    with db.transaction() as session:
        offers = [
            o
            for login_agent in agents.list_agents(session)
            for o in routing.pending_offers(session, login_agent.id)
            if o.ticket_id == ticket_id
        ]
        return (offers[0].id, offers[0].agent_id) if offers else None


def accept_as(db: Database, offer_id: int, agent_id: int) -> None:
    with db.transaction() as session:
        routing.accept_offer(session, offer_id, agents.get_agent(session, agent_id))


def reload_ticket(db: Database, ticket_id: int) -> Ticket:
    with db.transaction() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found
