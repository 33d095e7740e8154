"""The outbox calls providers outside any transaction: commit "sending", call, then record the result.

A provider that stops answering must not hold a database lock (on SQLite the one writer lock every
request needs), and a worker that stops mid-call must not make the reply silently go out twice.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.channels.tasks import deliver_message
from relaydesk.jobs.worker import Worker
from relaydesk.tickets.models import Message, Ticket
from tests.channels.conftest import reply_text, send_sms
from tests.factories import make_agent, run_jobs


def _reply_by_sms(client, database, body: str) -> int:
    """A customer's SMS opens a ticket, its follow-up jobs run, and an agent answers: one delivery queued."""
    assert send_sms(client).status_code == 200
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        ticket_id = session.scalar(select(Ticket.id))
    agent = make_agent(database)
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"body": body}, headers=agent.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _delivery(database) -> Delivery:
    with database.transaction(read_only=True) as session:
        return session.scalars(select(Delivery)).one()


def test_a_hung_provider_holds_no_lock_other_writes_need(client, database, provider):
    reply_id = _reply_by_sms(client, database, "It ships tomorrow.")
    provider.hang()
    worker = Worker(database, schedule_periodic=False)
    sending = threading.Thread(target=worker.run_once)
    sending.start()
    try:
        assert provider.holding.wait(10), "the delivery job never called the provider"
        # Committed before the call: anyone can see the reply is on its way.
        assert _delivery(database).status is DeliveryStatus.SENDING
        # The customer keeps writing while the provider hangs; every message is stored at once.
        with ThreadPoolExecutor(4) as pool:
            answers = [
                pool.submit(send_sms, client, body=f"Hello? {n}", sid=f"SMwhile{n:03d}") for n in range(4)
            ]
            codes = [answer.result(timeout=10).status_code for answer in answers]
        assert codes == [200] * 4
    finally:
        provider.release()
        sending.join(timeout=30)
    delivery = _delivery(database)
    assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 1
    assert [reply_text(r["form"]["Body"]) for r in provider.received] == ["It ships tomorrow."]
    with database.transaction(read_only=True) as session:
        assert session.get(Message, reply_id).delivery_state == "sent"


def test_a_send_whose_result_was_lost_goes_again_under_the_same_key(client, database, provider):
    reply_id = _reply_by_sms(client, database, "Refund issued.")
    # The worker dies after the provider accepted the send but before the result was committed.
    with database.transaction() as session:
        deliver_message(session, message_id=reply_id)
        session.rollback()
    stranded = _delivery(database)
    assert stranded.status is DeliveryStatus.SENDING and stranded.attempts == 1

    run_jobs(database)  # the job was never completed: it runs again

    assert provider.requests == 2
    # The provider recognised the repeated key: the customer got the reply once.
    assert [reply_text(r["form"]["Body"]) for r in provider.received] == ["Refund issued."]
    delivery = _delivery(database)
    assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 2
    assert delivery.provider_message_id == "SMfake1"
