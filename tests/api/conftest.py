from __future__ import annotations

from dataclasses import dataclass

import pytest

from relaydesk.auth.roles import Role
from relaydesk.channels.quarantine import quarantine
from relaydesk.tickets import service as tickets
from relaydesk.tickets.attachments import store_file
from relaydesk.tickets.models import Attachment, Ticket
from relaydesk.tickets.schemas import MessageCreate
from tests.factories import Login, make_agent, make_team, make_ticket


@dataclass
class World:
    frontline_team: int
    legal_team: int
    admin: Login
    manager: Login
    lead: Login
    frontline: Login
    legal: Login
    open_ticket: int
    legal_ticket: int
    legal_message: int
    legal_attachment: int
    customer_id: int
    quarantined: int


@pytest.fixture
def world(database) -> World:
    frontline_team = make_team(database, "Frontline")
    legal_team = make_team(database, "Legal", restricted=True)
    admin = make_agent(database, Role.ADMIN)
    manager = make_agent(database, Role.MANAGER)
    lead = make_agent(database, Role.LEAD, [frontline_team])
    frontline = make_agent(database, Role.AGENT, [frontline_team])
    legal = make_agent(database, Role.AGENT, [legal_team])
    open_ticket = make_ticket(database, team_id=frontline_team)
    legal_ticket = make_ticket(database, team_id=legal_team, email="angry@example.com", body="I will sue you")
    with database.transaction() as session:
        ticket = session.get(Ticket, legal_ticket)
        message = tickets.add_agent_message(
            session, ticket, MessageCreate(body="Noted, escalating."), legal.agent_id
        )
        stored = store_file(b"settlement draft")
        attachment = Attachment(
            message_id=message.id,
            filename="note.txt",
            content_type="text/plain",
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
        )
        session.add(attachment)
        session.flush()
        ids = (message.id, attachment.id, ticket.customer_id)
    with database.transaction() as session:
        held = quarantine(
            session,
            channel="sms",
            source="webhook:sms",
            reason_code="bad_signature",
            reason="The signature does not match.",
            raw=b"From=%2B1&Body=hi",
            meta={},
        )
        quarantined = held.id
    return World(
        frontline_team,
        legal_team,
        admin,
        manager,
        lead,
        frontline,
        legal,
        open_ticket,
        legal_ticket,
        *ids,
        quarantined,
    )
