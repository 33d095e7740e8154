"""Intake's transaction on PostgreSQL, where concurrent transactions really overlap.

A conflict with another transaction is not the message's fault: intake runs its whole transaction
again (``channels.intake.in_intake_transaction``) and the provider gets its 2xx, with every message
stored once. Each test makes the conflict happen at a chosen moment with a second, real
transaction on its own connection (on SQLite the writer lock serialises transactions, so neither
conflict can happen there).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select, text

from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.customers.schemas import CustomerCreate, IdentityIn
from relaydesk.tickets.models import Message
from tests.channels.conftest import PHONE, send_sms, send_social


@pytest.fixture
def postgresql(database):
    if database.is_sqlite:
        pytest.skip("SQLite's writer lock runs one write transaction at a time: nothing overlaps")
    return database


def social_batch(*messages: tuple[str, str]) -> bytes:
    """One signed webhook call carrying several senders' messages, in this order: (sender, mid)."""
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "PAGE",
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": "PAGE"},
                            "timestamp": 1,
                            "message": {"mid": mid, "text": f"{sender} writes {mid}"},
                        }
                        for sender, mid in messages
                    ],
                }
            ],
        }
    ).encode()


def customer_id(database, identity: str) -> int:
    with database.transaction(read_only=True) as session:
        found = session.scalar(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == identity))
        assert found is not None
        return found


def wait_for_a_lock_wait(database, timeout: float = 20.0) -> None:
    """Until a backend of the test database waits for a row lock (read outside any snapshot)."""
    deadline = time.monotonic() + timeout
    with database.engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            watcher.rollback()  # pg_stat_activity is read once per transaction
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("no transaction started waiting for the lock")


def messages_by_provider_id(database) -> dict[str, int]:
    with database.transaction(read_only=True) as session:
        rows = session.execute(
            select(Message.provider_message_id, func.count()).group_by(Message.provider_message_id)
        ).all()
        return {str(provider_id): count for provider_id, count in rows}


def test_a_webhook_batch_caught_in_a_deadlock_is_run_again_and_stores_each_message_once(
    client, postgresql, provider
):
    database = postgresql
    assert send_social(client, social_batch(("alice", "m_a0"), ("bob", "m_b0"))).status_code == 200
    alice, bob = customer_id(database, "page:alice"), customer_id(database, "page:bob")

    with database.engine.connect() as other, ThreadPoolExecutor(1) as pool:
        # Another transaction holds bob and then wants alice: the opposite order to the batch below,
        # which holds alice (its first message) and then wants bob. It waits longer than the server
        # before looking for a deadlock, so PostgreSQL aborts the batch's transaction, not this one.
        other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
        other.execute(select(Customer.id).where(Customer.id == bob).with_for_update())
        batch = pool.submit(send_social, client, social_batch(("alice", "m_a1"), ("bob", "m_b1")))
        wait_for_a_lock_wait(database)
        other.execute(select(Customer.id).where(Customer.id == alice).with_for_update())
        other.commit()
        response = batch.result(timeout=60)

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert messages_by_provider_id(database) == {"m_a0": 1, "m_b0": 1, "m_a1": 1, "m_b1": 1}


def test_a_first_message_whose_customer_a_concurrent_message_just_created_is_stored_on_it(
    client, postgresql, provider
):
    database = postgresql
    competitor_done = threading.Event()

    def commit_the_competitor_first(conn, cursor, statement, parameters, context, executemany):
        # Intake looked the number up and found no customer; just before it checks the identity
        # itself, a concurrent first message from the same number commits its customer.
        looks_up_the_identity = statement.startswith("SELECT customer_identities.") and (
            "WHERE customer_identities.kind" in statement
        )
        if competitor_done.is_set() or not looks_up_the_identity:
            return
        competitor_done.set()
        with database.transaction() as session:
            identity = IdentityIn(kind=IdentityKind.PHONE, value=PHONE, verified=True)
            customers.create_customer(session, CustomerCreate(identities=[identity]))

    event.listen(database.engine, "before_cursor_execute", commit_the_competitor_first)
    try:
        response = send_sms(client, body="Where is my parcel?", sid="SMrace0001")
    finally:
        event.remove(database.engine, "before_cursor_execute", commit_the_competitor_first)

    assert competitor_done.is_set()
    assert response.status_code == 200, response.text
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        [message] = session.scalars(select(Message)).all()
        assert message.provider_message_id == "SMrace0001"
        assert message.author_customer_id == customer_id(database, PHONE)
