"""The supervisor view: who may see it, the queue and agent figures it shows, and reassigning from it."""

from __future__ import annotations

import re

import pytest

from relaydesk.auth.roles import Role
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, Priority, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from tests.factories import events_of_kind, run_jobs, sign_in_agent
from tests.routing.conftest import offer_of, queued_ticket, reload_ticket, routing_agent
from tests.routing.conftest import policy as policy  # the routing policy fixture

pytestmark = pytest.mark.usefixtures("policy")


def _row(html: str, marker: str) -> str:
    found = re.search(rf"<tr {marker}>.*?</tr>", html, re.S)
    assert found is not None, html
    return found.group(0)


def _version(html: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None, html
    return int(found.group(1))


def test_signed_out_goes_to_the_login_and_an_agent_is_refused(client, database, clock):
    response = client.get("/supervisor", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/supervisor"

    sign_in_agent(client, routing_agent(database, "Ann"))
    refused = client.get("/supervisor")
    assert refused.status_code == 403 and "lead role or above" in refused.text
    assert client.get("/supervisor/panel").status_code == 403


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_leads_and_admins_see_the_view(client, database, clock, role):
    sign_in_agent(client, routing_agent(database, "Sue", role=role, online=False))
    page = client.get("/supervisor")
    assert page.status_code == 200 and "Supervisor view" in page.text
    assert 'hx-get="/supervisor/panel"' in page.text
    assert client.get("/supervisor/panel").status_code == 200


def test_queues_agents_per_skill_and_language_and_their_load(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann", skills={"shipping": 3}, languages=("en",))
    bob = routing_agent(database, "Bob", skills={"billing": 2}, languages=("de", "en"))
    routing_agent(database, "Carl", skills={"shipping": 5}, online=False)
    queued_ticket(database, channel=Channel.WEB_CHAT, category="shipping_issue")
    queued_ticket(database, category="billing_question")
    clock.advance(minutes=3)
    sign_in_agent(client, lead)

    panel = client.get("/supervisor/panel").text

    live = _row(panel, 'data-queue="live"')
    assert '<td class="waiting">1</td>' in live and '<td class="longest">3 min</td>' in live
    assert '<td class="expected">no basis yet</td>' in live  # nothing handled yet: no invented number
    assert '<td class="waiting">1</td>' in _row(panel, 'data-queue="messaging"')
    skills = re.search(r'<ul data-testid="supervisor-skills">.*?</ul>', panel, re.S).group(0)
    assert "<strong>shipping</strong>: 1 online" in skills and "Ann (level 3, load 0)" in skills
    assert "Carl" not in skills  # offline
    assert "<strong>billing</strong>: 1 online" in skills and "Bob (level 2, load 0)" in skills
    languages = re.search(r'<ul data-testid="supervisor-languages">.*?</ul>', panel, re.S).group(0)
    assert "<strong>de</strong>: 1 online" in languages and "<strong>en</strong>: 2 online" in languages
    assert '<td class="offers">1</td>' in _row(panel, f'data-agent-id="{ann.agent_id}"')
    assert '<td class="offers">1</td>' in _row(panel, f'data-agent-id="{bob.agent_id}"')

    offer_id, _ = offer_of(database, queued_ticket(database, category="shipping_issue"))
    client.post(  # Ann takes one over the API: her load shows
        f"/api/v1/routing/offers/{offer_id}/accept", headers=ann.headers
    ).raise_for_status()
    after = client.get("/supervisor/panel").text
    assert '<td class="load">1</td>' in _row(after, f'data-agent-id="{ann.agent_id}"')


def test_declined_and_timed_out_offers_per_agent(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    offer_id, _ = offer_of(database, queued_ticket(database))
    client.post(f"/api/v1/routing/offers/{offer_id}/decline", json={"reason": "busy"}, headers=ann.headers)
    bob = routing_agent(database, "Bob")
    expiring, to = offer_of(database, queued_ticket(database, channel=Channel.WEB_CHAT))
    clock.advance(seconds=31)
    run_jobs(database)
    assert [e.data["offer_id"] for e in events_of_kind(database, "routing.expired")] == [expiring]
    sign_in_agent(client, lead)

    panel = client.get("/supervisor/panel").text

    assert "declined 1" in panel and "expired 1" in panel
    refused = panel[panel.index("supervisor-refused") :]
    expected = {ann.agent_id: (1, 0), bob.agent_id: (0, 0)}
    expected[to] = (expected[to][0], 1)
    for agent_id, (declined, expired) in expected.items():
        if declined or expired:
            row = _row(refused, f'data-agent-id="{agent_id}"')
            assert f'<td class="declined">{declined}</td>' in row
            assert f'<td class="expired">{expired}</td>' in row
        else:
            assert f'data-agent-id="{agent_id}"' not in refused


def test_a_lead_reassigns_a_waiting_ticket(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    routing_agent(database, "Ann")
    bob = routing_agent(database, "Bob", online=False)
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)
    csrf = sign_in_agent(client, lead)

    page = client.get(f"/supervisor?ticket={ticket_id}").text
    assert 'data-testid="reassign-form"' in page and "unassigned" in page

    moved = client.post(
        "/supervisor/reassign",
        data={
            "ticket_id": ticket_id,
            "agent_id": bob.agent_id,
            "version": _version(page),
            "csrf_token": csrf,
        },
    )

    assert moved.status_code == 200 and f"Ticket {ticket_id} is now Bob" in moved.text
    ticket = reload_ticket(database, ticket_id)
    assert ticket.assignee_id == bob.agent_id and ticket.status is TicketStatus.OPEN
    assert [e.data["from_agent_id"] for e in events_of_kind(database, "routing.reassigned")] == [None]
    assert offer_of(database, ticket_id) is None  # Ann's offer was withdrawn


def test_a_stale_version_is_a_409_with_a_message(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    csrf = sign_in_agent(client, lead)
    seen = _version(client.get(f"/supervisor?ticket={ticket_id}").text)
    with database.transaction() as session:  # meanwhile someone changes the ticket
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.update_ticket(session, ticket, TicketUpdate(priority=Priority.HIGH), Actor(AuthorKind.SYSTEM))

    stale = client.post(
        "/supervisor/reassign",
        data={"ticket_id": ticket_id, "agent_id": ann.agent_id, "version": seen, "csrf_token": csrf},
    )

    assert stale.status_code == 409 and "changed since you looked at it" in stale.text
    assert reload_ticket(database, ticket_id).assignee_id is None
    # The answer shows the fresh version, so a second try after looking again works.
    again = client.post(
        "/supervisor/reassign",
        data={
            "ticket_id": ticket_id,
            "agent_id": ann.agent_id,
            "version": _version(stale.text),
            "csrf_token": csrf,
        },
    )
    assert again.status_code == 200 and reload_ticket(database, ticket_id).assignee_id == ann.agent_id


def test_reassign_mistakes_are_4xx_with_a_message(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ticket_id = queued_ticket(database)
    csrf = sign_in_agent(client, lead)
    version = _version(client.get(f"/supervisor?ticket={ticket_id}").text)

    unknown_agent = client.post(
        "/supervisor/reassign",
        data={"ticket_id": ticket_id, "agent_id": 999_999, "version": version, "csrf_token": csrf},
    )
    assert unknown_agent.status_code == 404 and "No agent with id 999999" in unknown_agent.text
    unknown_ticket = client.get("/supervisor?ticket=999999")
    assert unknown_ticket.status_code == 404 and "No ticket 999999" in unknown_ticket.text
    no_csrf = client.post(
        "/supervisor/reassign", data={"ticket_id": ticket_id, "agent_id": lead.agent_id, "version": version}
    )
    assert no_csrf.status_code == 403 and "reload" in no_csrf.text
    bad = client.post("/supervisor/reassign", data={"ticket_id": "x", "agent_id": 1, "version": 1})
    assert bad.status_code == 422
    assert reload_ticket(database, ticket_id).assignee_id is None


def test_an_agent_cannot_reassign(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    csrf = sign_in_agent(client, ann)
    response = client.post(
        "/supervisor/reassign",
        data={"ticket_id": ticket_id, "agent_id": ann.agent_id, "version": 1, "csrf_token": csrf},
    )
    assert response.status_code == 403
    assert reload_ticket(database, ticket_id).assignee_id is None


def _waiting_rows(html: str, queue: str) -> list[str]:
    table = re.search(rf'<table data-testid="waiting-{queue}">.*?</table>', html, re.S)
    assert table is not None, html
    return re.findall(r"<tr data-waiting-ticket=.*?</tr>", table.group(0), re.S)


def test_each_queue_lists_its_waiting_tickets_longest_waiting_first(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    older = queued_ticket(database)
    clock.advance(minutes=4)
    offered = queued_ticket(database, priority=Priority.HIGH)  # ahead in the queue, not in the list
    chat = queued_ticket(database, channel=Channel.WEB_CHAT)
    sign_in_agent(client, lead)

    panel = client.get("/supervisor/panel").text

    messaging = _waiting_rows(panel, "messaging")
    assert [re.search(r'data-waiting-ticket="(\d+)"', r).group(1) for r in messaging] == [
        str(older),
        str(offered),
    ]
    assert '<td class="waited">4 min</td>' in messaging[0]
    assert all('<td class="offered-to">Ann</td>' in row for row in messaging)
    assert f'<option value="{ann.agent_id}">Ann (online, load 0)</option>' in messaging[0]
    assert "Lead" not in messaging[0]  # offline: only the full form offers them
    assert 'name="csrf_token" value=""' not in messaging[0]  # the panel's forms carry the session's token
    [live] = _waiting_rows(panel, "live")
    assert f'data-waiting-ticket="{chat}"' in live


def test_a_lead_reassigns_from_the_waiting_list_and_puts_a_ticket_back(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    first = queued_ticket(database)
    second = queued_ticket(database)
    bob = routing_agent(database, "Bob")
    csrf = sign_in_agent(client, lead)
    rows = _waiting_rows(client.get("/supervisor").text, "messaging")
    assert offer_of(database, second)[1] == ann.agent_id

    moved = client.post(
        "/supervisor/reassign",
        data={"ticket_id": first, "agent_id": bob.agent_id, "version": _version(rows[0]), "csrf_token": csrf},
    )
    assert moved.status_code == 200 and f"Ticket {first} is now Bob" in moved.text
    assert reload_ticket(database, first).assignee_id == bob.agent_id
    assert [r for r in _waiting_rows(moved.text, "messaging") if f'"{first}"' in r] == []

    back = client.post(
        "/supervisor/requeue", data={"ticket_id": second, "version": _version(rows[1]), "csrf_token": csrf}
    )
    assert back.status_code == 200
    assert f"Ticket {second} is back in the messaging queue, offered to Bob" in back.text
    assert offer_of(database, second)[1] == bob.agent_id  # Ann, whose offer was withdrawn, is passed over
    [requeued] = events_of_kind(database, "routing.requeued")
    assert requeued.ticket_id == second and requeued.data["withdrawn_offer_id"] is not None

    with database.transaction() as session:  # meanwhile someone changes the ticket
        ticket = tickets.get_ticket(session, second)
        tickets.update_ticket(session, ticket, TicketUpdate(priority=Priority.HIGH), Actor(AuthorKind.SYSTEM))
    stale = client.post(
        "/supervisor/requeue", data={"ticket_id": second, "version": _version(rows[1]), "csrf_token": csrf}
    )
    assert stale.status_code == 409 and "changed since you looked at it" in stale.text
    no_csrf = client.post("/supervisor/requeue", data={"ticket_id": second, "version": 1})
    assert no_csrf.status_code == 403 and "reload" in no_csrf.text
    assert client.post("/supervisor/requeue", data={"ticket_id": "x", "version": 1}).status_code == 422


def test_a_resolved_ticket_cannot_go_back_to_a_queue(client, database, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ticket_id = queued_ticket(database)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.change_status(
            session, ticket, StatusChange(status=TicketStatus.RESOLVED), Actor(AuthorKind.SYSTEM)
        )
    csrf = sign_in_agent(client, lead)
    version = _version(client.get(f"/supervisor?ticket={ticket_id}").text)

    refused = client.post(
        "/supervisor/requeue", data={"ticket_id": ticket_id, "version": version, "csrf_token": csrf}
    )

    assert refused.status_code == 409 and "reopen it before putting it back" in refused.text
    assert reload_ticket(database, ticket_id).status is TicketStatus.RESOLVED


def test_an_agent_cannot_requeue(client, database, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    csrf = sign_in_agent(client, ann)
    response = client.post(
        "/supervisor/requeue", data={"ticket_id": ticket_id, "version": 1, "csrf_token": csrf}
    )
    assert response.status_code == 403
    assert events_of_kind(database, "routing.requeued") == []
