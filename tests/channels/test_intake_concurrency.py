"""Parallel senders on one ticket: intake stores every message once and never refuses one.

Real threads post through the ASGI app, each request in its own transaction on its own connection,
so on PostgreSQL the transactions really overlap (on SQLite the writer lock serialises them).
"""

from __future__ import annotations

from tests.channels.conftest import PER_SENDER, SENDERS, in_parallel, intake_counts, send_sms


def test_parallel_sms_from_one_new_number_are_all_stored_once(unlimited_rates, client, database, provider):
    def post(sender: int, n: int) -> int:
        return send_sms(client, body=f"message {sender}/{n}", sid=f"SM{sender:02d}{n:04d}").status_code

    codes = in_parallel(SENDERS, PER_SENDER, post)

    assert codes == [200] * (SENDERS * PER_SENDER)
    assert intake_counts(database) == {
        "tickets": 1,
        "messages": SENDERS * PER_SENDER,
        "customers": 1,
        "identities": 1,
    }


def test_a_gateway_retry_racing_its_original_is_stored_once(unlimited_rates, client, database, provider):
    # Every sender posts the same message ids at once: the retries must answer 200 and store nothing.
    def post(_sender: int, n: int) -> int:
        return send_sms(client, body=f"message {n}", sid=f"SMsame{n:04d}").status_code

    codes = in_parallel(SENDERS, PER_SENDER, post)

    assert codes == [200] * (SENDERS * PER_SENDER)
    assert intake_counts(database)["messages"] == PER_SENDER
    assert intake_counts(database)["tickets"] == 1
