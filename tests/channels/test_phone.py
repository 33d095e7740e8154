"""Phone: the callback queue and call events from the telephony provider."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from relaydesk.channels.models import QuarantinedInput
from relaydesk.channels.phone import phone_signature
from relaydesk.channels.phone.models import CallbackStatus, PhoneCallback
from relaydesk.tickets.models import Message, Ticket, TicketEvent
from tests.channels.conftest import PHONE_SECRET
from tests.factories import make_agent


def call_event(client, payload: dict, secret: str = PHONE_SECRET):
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/phone",
        content=body,
        headers={"Content-Type": "application/json", "X-Relaydesk-Signature": phone_signature(secret, body)},
    )


def test_callbacks_queue_in_order_of_preferred_time(client, database, provider):
    later = datetime.now(UTC) + timedelta(hours=3)
    sooner = datetime.now(UTC) + timedelta(hours=1)
    first = client.post(
        "/callbacks/v1/requests",
        json={
            "phone": "+1 415 555 0101",
            "name": "Ann",
            "reason": "Boots arrived broken",
            "preferred_at": later.isoformat(),
        },
    )
    second = client.post(
        "/callbacks/v1/requests",
        json={
            "phone": "+14155550102",
            "name": "Bo",
            "reason": "Refund question",
            "preferred_at": sooner.isoformat(),
        },
    )
    assert first.status_code == 201 and second.status_code == 201
    agent = make_agent(database)
    queue = client.get("/api/v1/callbacks", headers=agent.headers).json()
    assert [t["id"] for t in queue] == [second.json()["ticket_id"], first.json()["ticket_id"]]
    assert queue[0]["channel"] == "phone" and queue[0]["queue"] == "callback"
    assert queue[0]["callback"]["phone"] == "+14155550102" and queue[0]["callback"]["status"] == "requested"
    # The workflow lives in the channel's own table, not in the customer's fields on the ticket.
    assert "callback" not in queue[0]["custom_fields"]


def test_call_events_land_on_the_ticket_and_complete_the_callback(client, database, provider):
    ticket_id = client.post(
        "/callbacks/v1/requests", json={"phone": "+14155550103", "reason": "Wrong size"}
    ).json()["ticket_id"]
    agent = make_agent(database)
    assert (
        call_event(
            client,
            {"event": "call.started", "call_id": "CA1", "ticket_id": ticket_id, "agent_id": agent.agent_id},
        ).status_code
        == 200
    )
    (waiting,) = client.get("/api/v1/callbacks", headers=agent.headers).json()
    assert waiting["callback"]["status"] == "in_progress" and waiting["callback"]["attempts"] == 1
    assert waiting["callback"]["started_at"] is not None and waiting["callback"]["finished_at"] is None
    call_event(
        client,
        {
            "event": "call.notes",
            "call_id": "CA1",
            "ticket_id": ticket_id,
            "agent_id": agent.agent_id,
            "notes": "Exchanging for size 34.",
        },
    )
    call_event(
        client,
        {
            "event": "call.recording",
            "call_id": "CA1",
            "phone": "+1 415 555 0103",
            "recording_url": "https://recordings.example.com/CA1.mp3",
        },
    )
    call_event(
        client, {"event": "call.ended", "call_id": "CA1", "ticket_id": ticket_id, "duration_seconds": 182}
    )
    assert client.get("/api/v1/callbacks", headers=agent.headers).json() == []
    with database.transaction() as session:
        kinds = session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        ).all()
        assert [k for k in kinds if k.startswith("call.")] == [
            "call.started",
            "call.notes",
            "call.recording",
            "call.ended",
        ]
        note = session.scalar(
            select(Message).where(Message.ticket_id == ticket_id, Message.public.is_(False))
        )
        assert note.body_text == "Exchanging for size 34."
        recording = session.scalar(select(TicketEvent).where(TicketEvent.kind == "call.recording"))
        assert recording.data["recording_url"].endswith("CA1.mp3")
        callback = session.get(PhoneCallback, ticket_id)
        assert callback.status is CallbackStatus.COMPLETED and callback.finished_at is not None


def test_unsigned_call_event_is_refused_and_kept(client, database, provider):
    response = call_event(client, {"event": "call.started", "call_id": "CA9", "ticket_id": 1}, secret="wrong")
    assert response.status_code == 403
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(QuarantinedInput)) == 1
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_call_event_for_an_unknown_caller_is_a_404(client, database, provider):
    response = call_event(client, {"event": "call.started", "call_id": "CA2", "phone": "+14155550999"})
    assert response.status_code == 404
    assert "No ticket matches" in response.json()["error"]["message"]


def test_callback_request_is_validated(client, database, provider):
    response = client.post("/callbacks/v1/requests", json={"phone": "call me", "reason": "x"})
    assert response.status_code == 422
    assert "phone number" in response.json()["error"]["message"]


def test_callback_request_with_someone_elses_phone_opens_a_new_ticket(client, database, provider):
    from relaydesk.customers.enums import IdentityKind
    from relaydesk.tickets import service as tickets
    from relaydesk.tickets.enums import AuthorKind, Channel
    from relaydesk.tickets.events import Actor
    from relaydesk.tickets.schemas import CustomerRef, TicketCreate
    from tests.factories import make_team

    legal = make_team(database, "Legal", restricted=True)
    with database.transaction() as session:
        victim = tickets.create_ticket(
            session,
            TicketCreate(
                body="Private matter",
                customer=CustomerRef(kind=IdentityKind.PHONE, value="+14155550199"),
                channel=Channel.SMS,
                team_id=legal,
            ),
            Actor(AuthorKind.SYSTEM),
        ).id
    response = client.post(
        "/callbacks/v1/requests", json={"phone": "+1 415 555 0199", "reason": "Call me about my case"}
    )
    assert response.status_code == 201
    assert response.json()["ticket_id"] != victim
    with database.transaction(read_only=True) as session:
        ticket = session.get(Ticket, victim)
        assert [m.body_text for m in ticket.messages] == ["Private matter"]
        assert ticket.reply_channel is Channel.SMS and ticket.queue != "callback"
        assert "callback" not in ticket.custom_fields
        new = session.get(Ticket, response.json()["ticket_id"])
        assert new.queue == "callback" and new.team_id is None
        assert session.get(PhoneCallback, new.id).phone == "+14155550199"
        assert session.get(PhoneCallback, victim) is None


def test_a_callback_moved_to_another_queue_leaves_the_callback_queue(client, database, provider):
    ticket_id = client.post(
        "/callbacks/v1/requests", json={"phone": "+14155550104", "reason": "Exchange"}
    ).json()["ticket_id"]
    agent = make_agent(database)
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=agent.headers).json()
    moved = client.patch(
        f"/api/v1/tickets/{ticket_id}",
        json={"queue": "messaging", "version": ticket["version"]},
        headers=agent.headers,
    )
    assert moved.status_code == 200, moved.text
    assert client.get("/api/v1/callbacks", headers=agent.headers).json() == []
    with database.transaction(read_only=True) as session:
        assert session.get(PhoneCallback, ticket_id).status is CallbackStatus.REQUESTED
