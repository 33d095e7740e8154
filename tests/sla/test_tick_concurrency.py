"""Two ticks at once on PostgreSQL: each due clock is taken by exactly one (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import pytest

from relaydesk.sla import service as sla
from tests.factories import events_of_kind, make_ticket, run_jobs

pytestmark = pytest.mark.postgres


def test_a_second_tick_skips_the_clocks_the_first_holds(database, sla_policies, clock):
    if database.is_sqlite:
        pytest.skip("row locks between parallel connections: the PostgreSQL case (SQLite has one writer)")
    for n in range(5):
        make_ticket(database, email=f"c{n}@example.com")
    run_jobs(database)
    clock.advance(minutes=50)
    with database.transaction() as first:
        taken_first = sla.tick(first, batch=2)
        # The first tick's transaction is still open and holds its two rows.
        with database.transaction() as second:
            taken_second = sla.tick(second, batch=10)
    assert (taken_first.at_risk, taken_second.at_risk) == (2, 3)
    events = events_of_kind(database, "sla.at_risk")
    assert len(events) == 5 and len({e.ticket_id for e in events}) == 5
