"""An agent outside a restricted team must not be able to redirect that team's replies to themselves.

The attack probed on a running server: merge the restricted ticket's customer into a record the
outsider made, add "verified" identities, then write from one of them; the insider's next public
reply went to the outsider's address.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.channels.email.inbound import SOURCE_CLI, receive_email
from relaydesk.channels.models import Delivery
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.models import Ticket
from tests.factories import make_agent, make_team, make_ticket, run_jobs

ATTACKER = "mallory@evil.example"


@pytest.fixture
def trusted_mta(monkeypatch):
    """Mail from a domain the attacker owns passes DKIM at our MTA: a proven From is no obstacle."""
    monkeypatch.setenv("RELAYDESK_EMAIL_SUPPORT_ADDRESS", "support@acme.test")
    monkeypatch.setenv("RELAYDESK_EMAIL_TRUSTED_AUTHSERV_IDS", '["mx.acme.test"]')
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


def mail_from_attacker(database, number: int) -> int | None:
    raw = (
        f"Authentication-Results: mx.acme.test; dkim=pass header.d=evil.example; dmarc=pass"
        f" header.from=evil.example\r\nFrom: {ATTACKER}\r\nTo: support@acme.test\r\n"
        f"Subject: Re: my case\r\nMessage-ID: <m{number}@evil.example>\r\n\r\nPlease reply here.\r\n"
    ).encode()
    with database.transaction() as session:
        return receive_email(session, raw, source=SOURCE_CLI).ticket_id


def test_outsider_cannot_redirect_a_restricted_teams_replies(client, database, trusted_mta):
    legal = make_team(database, "Legal", restricted=True)
    insider = make_agent(database, Role.AGENT, [legal])
    outsider = make_agent(database, Role.AGENT, [make_team(database, "Frontline")])
    victim_ticket = make_ticket(database, team_id=legal, email="victim@example.com", body="Private")
    with database.transaction() as session:
        victim = session.get(Ticket, victim_ticket).customer_id

    answers = [
        client.post(
            f"/api/v1/customers/{victim}/identities",
            json={"kind": "email", "value": "m2@evil.example", "verified": True},
            headers=outsider.headers,
        ).status_code,
        client.post(
            "/api/v1/customers",
            json={"name": "M", "identities": [{"kind": "email", "value": ATTACKER, "verified": True}]},
            headers=outsider.headers,
        ).status_code,
    ]
    own = client.get(f"/api/v1/customers?q={ATTACKER}", headers=outsider.headers).json()["items"]
    if not own:  # refused as verified: the outsider makes the record unverified and carries on
        own = [
            client.post(
                "/api/v1/customers",
                json={"name": "M", "identities": [{"kind": "email", "value": ATTACKER}]},
                headers=outsider.headers,
            ).json()
        ]
    answers.append(
        client.post(
            f"/api/v1/customers/{victim}/merge", json={"into_id": own[0]["id"]}, headers=outsider.headers
        ).status_code
    )
    # Even as a lead the outsider may not touch a customer whose tickets they cannot see.
    lead = make_agent(database, Role.LEAD)
    answers.append(
        client.post(
            f"/api/v1/customers/{victim}/merge", json={"into_id": own[0]["id"]}, headers=lead.headers
        ).status_code
    )
    attacker_ticket = mail_from_attacker(database, 1)
    reply = client.post(
        f"/api/v1/tickets/{victim_ticket}/messages",
        json={"body": "Settlement terms"},
        headers=insider.headers,
    )
    run_jobs(database)

    assert answers == [403, 403, 403, 403]
    assert attacker_ticket != victim_ticket
    assert reply.status_code == 201, reply.text
    with database.transaction(read_only=True) as session:
        delivery = session.scalar(select(Delivery).where(Delivery.message_id == reply.json()["id"]))
        assert delivery.recipient == "victim@example.com"


def test_a_lead_who_sees_the_tickets_may_merge_and_verify(client, database):
    lead = make_agent(database, Role.LEAD)
    first = make_ticket(database, email="dana@example.com")
    second = make_ticket(database, email="dana.work@example.com")
    with database.transaction() as session:
        source, target = (session.get(Ticket, t).customer_id for t in (first, second))
    added = client.post(
        f"/api/v1/customers/{source}/identities",
        json={"kind": "phone", "value": "+14155550142", "verified": True},
        headers=lead.headers,
    )
    assert added.status_code == 201, added.text
    merged = client.post(f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers=lead.headers)
    assert merged.status_code == 200, merged.text
    agent = make_agent(database)
    refused = client.post(
        f"/api/v1/customers/{target}/identities",
        json={"kind": "phone", "value": "+14155550143", "verified": True},
        headers=agent.headers,
    )
    assert refused.status_code == 403 and "'lead'" in refused.json()["error"]["message"]
    unverified = client.post(
        f"/api/v1/customers/{target}/identities",
        json={"kind": "phone", "value": "+14155550143"},
        headers=agent.headers,
    )
    assert unverified.status_code == 201
