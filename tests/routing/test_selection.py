"""How the router picks in the database: the candidate query (push) and the filtered queue read (pull)
must choose exactly as the rules say, also where the database filters only part of the rule."""

from __future__ import annotations

from relaydesk.agents import service as agents
from relaydesk.routing import service as routing
from relaydesk.tickets.enums import Channel
from tests.routing.conftest import offer_of, queued_ticket, routing_agent, routing_team


def _pull(database, agent_id: int) -> int | None:
    with database.transaction() as session:
        ticket = routing.next_ticket(session, agents.get_agent(session, agent_id))
        return ticket.id if ticket is not None else None


def test_a_ticket_language_in_capitals_still_reaches_the_agent_who_speaks_it(database, policy, clock):
    routing_agent(database, "English", languages=("en",))
    french = routing_agent(database, "Francophone", languages=("fr",))
    pushed = queued_ticket(database, language="FR")
    assert offer_of(database, pushed)[1] == french.agent_id

    # Pull: the offered ticket still waits in the queue, and a pull takes it from the offer.
    english_puller = routing_agent(database, "English puller", languages=("en",), online=False)
    french_puller = routing_agent(database, "French puller", languages=("fr",), online=False)
    assert _pull(database, english_puller.agent_id) is None
    assert _pull(database, french_puller.agent_id) == pushed


def test_the_best_ranked_agents_outside_working_hours_are_passed_over(database, policy, clock):
    # The clock fixture starts Monday 09:00 UTC: 18:00 in Tokyo, after a 09-17 day. Twenty such
    # agents rank first (equal load and idle time, lower ids): more than one page of candidates.
    for n in range(20):
        routing_agent(database, f"Tokyo {n}", timezone="Asia/Tokyo", working_hours={"mon": ["09:00-17:00"]})
    berlin = routing_agent(
        database, "Berlin", timezone="Europe/Berlin", working_hours={"mon": ["09:00-17:00"]}
    )
    ticket_id = queued_ticket(database)
    assert offer_of(database, ticket_id)[1] == berlin.agent_id
    with database.transaction() as session:
        assert agents.available_agent_count(session) == 1


def test_pull_reaches_a_parent_team_ticket_only_after_the_overflow_to_it(database, policy, clock):
    parent = routing_team(database, "All hands")
    child = routing_team(database, "Shipping", parent_id=parent)
    outsider = routing_agent(
        database, "Parent team", skills={"shipping": 5}, team_ids=(parent,), online=False
    )
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT, category="shipping_issue", team_id=child)
    assert _pull(database, outsider.agent_id) is None  # the ticket's own team only

    clock.advance(minutes=5)  # past widen_skills_after_minutes (2) and parent_team_after_minutes (5)
    for _ in range(2):
        with database.transaction() as session:
            routing.sweep(session)
    assert _pull(database, outsider.agent_id) == ticket_id


def test_pull_takes_a_secondary_skill_ticket_only_after_the_overflow(database, policy, clock):
    helper = routing_agent(database, "Returns person", skills={"returns": 2}, online=False)
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT, category="shipping_issue")
    assert _pull(database, helper.agent_id) is None  # shipping 3 needed

    clock.advance(minutes=2)
    with database.transaction() as session:
        assert routing.sweep(session).overflowed == [ticket_id]
    assert _pull(database, helper.agent_id) == ticket_id
