"""Webhook bodies from outside: validated at the edge, quarantined with the reason, replays applied once."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from sqlalchemy import select

from relaydesk.channels.models import QuarantinedInput
from relaydesk.channels.phone import phone_signature
from relaydesk.channels.sms import sms_signature
from relaydesk.customers.models import Customer
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.models import Message
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS
from tests.channels.conftest import BASE_URL, PHONE_SECRET, SMS_TOKEN, send_sms, send_social
from tests.channels.test_webhooks import social_event
from tests.factories import count

LONG_TEXT = "x" * (MESSAGE_BODY_MAX_CHARS + 1)


def signed_sms(client, **fields):
    params = {"MessageSid": "SM1", "From": "+14155550123", "Body": "hi", **fields}
    signature = sms_signature(SMS_TOKEN, f"{BASE_URL}/webhooks/sms", sorted(params.items()))
    return client.post(
        "/webhooks/sms",
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )


def held(database):
    with database.transaction(read_only=True) as session:
        return session.scalars(select(QuarantinedInput).order_by(QuarantinedInput.id)).all()


def test_sms_with_an_invalid_num_media_is_quarantined_quickly_with_the_reason(client, database, provider):
    assert signed_sms(client, NumMedia="abc").status_code == 400
    started = time.monotonic()
    assert signed_sms(client, MessageSid="SM2", NumMedia="100000000").status_code == 400
    assert time.monotonic() - started < 2
    reasons = [(item.reason_code, "NumMedia" in item.reason) for item in held(database)]
    assert reasons == [("invalid_fields", True), ("invalid_fields", True)]
    assert count(database, Message) == 0


def test_over_long_text_is_quarantined_alike_for_new_and_known_customers(client, database, provider):
    assert send_sms(client, body=LONG_TEXT, sid="SM-new", sender="+14155550100").status_code == 400
    assert send_sms(client, body="hello", sid="SM-1").status_code == 200
    assert send_sms(client, body=LONG_TEXT, sid="SM-2").status_code == 400
    assert send_social(client, social_event(psid="55", mid="m_long", text=LONG_TEXT)).status_code == 400
    items = held(database)
    assert [item.reason_code for item in items] == ["invalid_fields", "invalid_fields", "malformed"]
    assert all(str(MESSAGE_BODY_MAX_CHARS) in item.reason for item in items)
    assert all(LONG_TEXT.encode() in item.raw for item in items)  # kept whole: nothing lost
    with database.transaction(read_only=True) as session:
        assert [m.body_text for m in session.scalars(select(Message))] == ["hello"]


def _social(client, payload):
    return send_social(client, json.dumps(payload).encode())


def test_social_events_in_the_wrong_shape_are_quarantined_not_a_500(client, database, provider):
    assert _social(client, {"object": "page", "entry": [{"messaging": 5}]}).status_code == 400
    event = {"sender": {"id": {"nested": "object"}}, "message": {"mid": "m_9", "text": "hi"}}
    assert _social(client, {"object": "page", "entry": [{"messaging": [event]}]}).status_code == 400
    assert [item.reason_code for item in held(database)] == ["malformed", "malformed"]
    assert "messaging" in held(database)[0].reason and "sender.id" in held(database)[1].reason
    assert count(database, Customer) == 0


def test_social_events_without_a_message_id_are_stored_once_however_often_replayed(
    client, database, provider
):
    payload = json.loads(social_event(text="first"))
    events = payload["entry"][0]["messaging"]
    del events[0]["message"]["mid"]
    events.append({**events[0], "message": {"text": "second"}})
    body = json.dumps(payload).encode()
    assert send_social(client, body).json() == {"accepted": 2, "duplicates": 0}
    assert send_social(client, body).json() == {"accepted": 0, "duplicates": 2}
    assert count(database, Message) == 2


def test_a_replayed_call_note_lands_once(client, database, provider):
    ticket_id = client.post(
        "/callbacks/v1/requests", json={"phone": "+14155550103", "reason": "Wrong size"}
    ).json()["ticket_id"]
    body = json.dumps({"event": "call.notes", "call_id": "CA1", "ticket_id": ticket_id, "notes": "Size 34."})
    headers = {
        "Content-Type": "application/json",
        "X-Relaydesk-Signature": phone_signature(PHONE_SECRET, body.encode()),
    }
    first = client.post("/webhooks/phone", content=body, headers=headers)
    again = client.post("/webhooks/phone", content=body, headers=headers)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert count(database, Message, Message.public.is_(False)) == 1


def test_unverified_bodies_are_kept_bounded_per_source(client, database, provider, monkeypatch):
    monkeypatch.setenv("RELAYDESK_QUARANTINE_UNVERIFIED_CAP_PER_SOURCE", "2")
    reset_settings_cache()
    junk = b'{"object": "page", "padding": "' + b"x" * 100_000 + b'"}'
    for _ in range(3):
        assert send_social(client, junk, secret="wrong").status_code == 403
    items = held(database)
    assert len(items) == 2
    assert all(len(item.raw) == 4096 and item.meta["unverified_body"]["size"] == len(junk) for item in items)
    assert items[0].meta["unverified_body"]["truncated"] is True
