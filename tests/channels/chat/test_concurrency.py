"""Parallel chat posts from one visitor: every message stored once, none refused (see intake)."""

from __future__ import annotations

from tests.channels.chat.conftest import new_visitor, send
from tests.channels.conftest import PER_SENDER, SENDERS, in_parallel, intake_counts


def test_parallel_chat_messages_from_one_visitor_are_all_stored_once(unlimited_rates, client, database, site):
    token = new_visitor(client, site)

    def post(sender: int, n: int) -> int:
        return send(client, site, token, f"message {sender}/{n}", f"client-{sender}-{n:03d}").status_code

    codes = in_parallel(SENDERS, PER_SENDER, post)

    assert codes == [201] * (SENDERS * PER_SENDER)
    # Every first message raced every other: still one visitor, one ticket.
    assert intake_counts(database) == {
        "tickets": 1,
        "messages": SENDERS * PER_SENDER,
        "customers": 1,
        "identities": 1,
    }
