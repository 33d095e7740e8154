"""/api/v1/routing: offers, pulls, the supervisor's numbers and reassigning, over the real app."""

from __future__ import annotations

from relaydesk.auth.roles import Role
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, TicketStatus
from relaydesk.tickets.events import Actor
from tests.factories import events_of_kind, run_jobs
from tests.routing.conftest import offer_of, queued_ticket, reload_ticket, routing_agent


def test_an_agent_sees_and_accepts_an_offer(client, database, policy, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)

    offers = client.get("/api/v1/routing/offers", headers=ann.headers).json()
    assert [(o["ticket_id"], o["state"]) for o in offers] == [(ticket_id, "offered")]

    accepted = client.post(f"/api/v1/routing/offers/{offers[0]['id']}/accept", headers=ann.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["assignee_id"] == ann.agent_id and accepted.json()["status"] == "open"
    assert client.get("/api/v1/routing/offers", headers=ann.headers).json() == []


def test_a_stale_accept_is_a_conflict(client, database, policy, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    offer_id, _ = offer_of(database, ticket_id)
    declined = client.post(
        f"/api/v1/routing/offers/{offer_id}/decline", json={"reason": "lunch"}, headers=ann.headers
    )
    assert declined.status_code == 200 and declined.json()["state"] == "declined"

    late = client.post(f"/api/v1/routing/offers/{offer_id}/accept", headers=ann.headers)

    assert late.status_code == 409
    assert "no longer open" in late.json()["error"]["message"]
    assert reload_ticket(database, ticket_id).assignee_id is None


def test_an_expired_offer_cannot_be_accepted(client, database, policy, clock):
    ann = routing_agent(database, "Ann")
    offer_id, _ = offer_of(database, queued_ticket(database, channel=Channel.WEB_CHAT))
    clock.advance(seconds=31)

    late = client.post(f"/api/v1/routing/offers/{offer_id}/accept", headers=ann.headers)

    assert late.status_code == 409 and "ran out" in late.json()["error"]["message"]
    run_jobs(database)
    assert [e.data["offer_id"] for e in events_of_kind(database, "routing.expired")] == [offer_id]


def test_someone_elses_offer_looks_missing(client, database, policy, clock):
    routing_agent(database, "Ann")
    offer_id, _ = offer_of(database, queued_ticket(database))
    bob = routing_agent(database, "Bob", online=False)
    response = client.post(f"/api/v1/routing/offers/{offer_id}/accept", headers=bob.headers)
    assert response.status_code == 404


def test_accepting_past_capacity_is_a_conflict(client, database, policy, clock):
    ann = routing_agent(database, "Ann", capacity={"email": 2})
    first, second = queued_ticket(database), queued_ticket(database)
    assert offer_of(database, first)[1] == offer_of(database, second)[1] == ann.agent_id
    # Meanwhile a supervisor hands her a third ticket: she has room for one of the two offers only.
    handed = queued_ticket(database, route=False)
    with database.transaction() as session:
        routing.reassign(session, tickets.get_ticket(session, handed), ann.agent_id, Actor(AuthorKind.SYSTEM))

    ok = client.post(f"/api/v1/routing/offers/{offer_of(database, first)[0]}/accept", headers=ann.headers)
    full = client.post(f"/api/v1/routing/offers/{offer_of(database, second)[0]}/accept", headers=ann.headers)

    assert ok.status_code == 200
    assert full.status_code == 409 and full.json()["error"]["code"] == "capacity_exceeded"
    assert "at capacity" in full.json()["error"]["message"]
    assert reload_ticket(database, second).assignee_id is None


def test_next_ticket_over_the_api(client, database, policy, clock):
    puller = routing_agent(database, "Puller", online=False)
    ticket_id = queued_ticket(database)

    taken = client.post("/api/v1/routing/next", headers=puller.headers)
    assert taken.status_code == 200 and taken.json()["id"] == ticket_id
    nothing = client.post("/api/v1/routing/next", headers=puller.headers)
    assert nothing.status_code == 200 and nothing.json() is None


def test_the_supervisor_sees_queues_loads_outcomes_and_reassigns(client, database, policy, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)
    ann = routing_agent(database, "Ann")
    chat = queued_ticket(database, channel=Channel.WEB_CHAT)
    queued_ticket(database)
    clock.advance(minutes=1)

    queues = {q["queue"]: q for q in client.get("/api/v1/routing/queues", headers=lead.headers).json()}
    assert queues["live"]["waiting"] == 1 and queues["messaging"]["waiting"] == 1
    assert queues["live"]["longest_wait_seconds"] == 60
    assert queues["live"]["expected_wait_seconds"] is None  # nothing handled yet
    loads = {a["agent_id"]: a for a in client.get("/api/v1/routing/agents", headers=lead.headers).json()}
    assert loads[ann.agent_id]["open_offers"] == 2 and loads[ann.agent_id]["load"] == 0
    outcomes = client.get("/api/v1/routing/offer-outcomes", headers=lead.headers).json()
    assert outcomes["totals"]["offered"] == 2

    place = client.get(f"/api/v1/routing/tickets/{chat}", headers=lead.headers).json()
    assert place["queue"] == "live" and place["position"] == 1

    moved = client.post(
        f"/api/v1/routing/tickets/{chat}/reassign", json={"agent_id": lead.agent_id}, headers=lead.headers
    )
    assert moved.status_code == 200 and moved.json()["assignee_id"] == lead.agent_id
    assert reload_ticket(database, chat).status is TicketStatus.OPEN
    assert [e.kind for e in events_of_kind(database, "routing.offer_cancelled")] == [
        "routing.offer_cancelled"
    ]
    assert client.get(f"/api/v1/routing/tickets/{chat}", headers=lead.headers).json()["position"] is None


def test_reassign_needs_a_lead_and_sign_in(client, database, policy, clock):
    ann = routing_agent(database, "Ann")
    chat = queued_ticket(database, channel=Channel.WEB_CHAT)
    url = f"/api/v1/routing/tickets/{chat}/reassign"
    assert client.post(url, json={"agent_id": ann.agent_id}).status_code == 401
    assert client.post(url, json={"agent_id": ann.agent_id}, headers=ann.headers).status_code == 403
    admin = routing_agent(database, "Admin", role=Role.ADMIN, online=False)
    assert client.post(url, json={"agent_id": ann.agent_id}, headers=admin.headers).status_code == 200


def test_bad_input_gets_a_message_not_a_500(client, database, policy, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD)
    naive = client.get("/api/v1/routing/offer-outcomes?since=2026-12-07T09:00:00", headers=lead.headers)
    assert naive.status_code == 422 and "time zone" in naive.json()["error"]["message"]
    unknown = client.post(
        f"/api/v1/routing/tickets/{queued_ticket(database)}/reassign",
        json={"agent_id": 999_999},
        headers=lead.headers,
    )
    assert unknown.status_code == 404


def test_a_ticket_filed_through_the_api_is_triaged_and_routed(client, database, policy, clock):
    biller = routing_agent(database, "Biller", skills={"billing": 2})
    filer = routing_agent(database, "Filer", online=False)

    created = client.post(
        "/api/v1/tickets",
        json={
            "body": "I was charged twice for my last order",
            "customer": {"kind": "email", "value": "twice@example.com"},
            "category": "billing_question",
        },
        headers=filer.headers,
    )
    assert created.status_code == 201, created.text
    run_jobs(database)  # triage.process_inbound, then routing.route_ticket

    ticket_id = created.json()["id"]
    assert reload_ticket(database, ticket_id).queue is not None
    assert reload_ticket(database, ticket_id).status is TicketStatus.QUEUED
    assert offer_of(database, ticket_id)[1] == biller.agent_id
    assert [e.ticket_id for e in events_of_kind(database, "triage.ready_for_routing")] == [ticket_id]
