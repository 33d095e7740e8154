"""Routing, one readable scenario per test: who gets offered what, and what happens next."""

from __future__ import annotations

from datetime import timedelta

from relaydesk.agents import service as agents
from relaydesk.customers.enums import CustomerTier
from relaydesk.kit.time import as_utc
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, Priority, QueueKind, TicketStatus
from relaydesk.tickets.schemas import MessageCreate
from tests.factories import events_of_kind, run_jobs
from tests.routing.conftest import (
    SYSTEM,
    accept_as,
    offer_of,
    queued_ticket,
    reload_ticket,
    route_now,
    routing_agent,
    routing_team,
)


def test_the_skill_and_its_minimum_level_decide_who_is_offered(database, policy, clock):
    routing_agent(database, "Novice", skills={"shipping": 2})
    expert = routing_agent(database, "Expert", skills={"shipping": 4})
    routing_agent(database, "Biller", skills={"billing": 5})

    ticket_id = queued_ticket(database, category="shipping_issue")

    assert offer_of(database, ticket_id)[1] == expert.agent_id
    offered = events_of_kind(database, "routing.offered")
    assert [e.data["agent_id"] for e in offered] == [expert.agent_id]


def test_the_ticket_goes_to_an_agent_who_speaks_its_language(database, policy, clock):
    routing_agent(database, "English", languages=("en",))
    french = routing_agent(database, "Francophone", languages=("en", "fr"))

    ticket_id = queued_ticket(database, language="fr")

    assert offer_of(database, ticket_id)[1] == french.agent_id


def test_escalation_level_needs_an_agent_of_that_tier(database, policy, clock):
    from relaydesk.tickets.enums import EscalationLevel

    routing_agent(database, "Frontline", tier=1)
    tier2 = routing_agent(database, "Second line", tier=2)

    ticket_id = queued_ticket(database, level=EscalationLevel.TIER2)

    assert offer_of(database, ticket_id)[1] == tier2.agent_id


def test_vip_email_goes_to_the_live_queue_and_a_standard_one_to_messaging(database, policy, clock):
    vip = queued_ticket(database, channel=Channel.EMAIL, tier=CustomerTier.VIP, route=False)
    standard = queued_ticket(database, channel=Channel.EMAIL, route=False)
    urgent = queued_ticket(database, channel=Channel.EMAIL, priority=Priority.URGENT, route=False)

    assert route_now(database, vip).queue is QueueKind.LIVE
    assert route_now(database, standard).queue is QueueKind.MESSAGING
    assert route_now(database, urgent).queue is QueueKind.LIVE
    assert reload_ticket(database, vip).queue is QueueKind.LIVE
    assert reload_ticket(database, standard).queue is QueueKind.MESSAGING
    reasons = {e.ticket_id: e.data["reason"] for e in events_of_kind(database, "routing.queued")}
    assert reasons[vip] == "customer tier vip" and reasons[urgent] == "priority urgent"


def test_a_chat_is_live_while_the_customer_is_there_and_messaging_once_they_left(database, policy, clock):
    present = queued_ticket(database, channel=Channel.WEB_CHAT, route=False)
    assert route_now(database, present).queue is QueueKind.LIVE

    left = queued_ticket(database, channel=Channel.WEB_CHAT, route=False)
    clock.advance(minutes=11)  # past present_minutes since the customer's message
    assert route_now(database, left).queue is QueueKind.MESSAGING


def test_capacity_per_channel_counts_weighted_load(database, policy, clock):
    # Capacity is a ceiling on the weighted load while taking that channel's work:
    # two chats (2 x 2 = 4) fill a chat capacity of 4 but leave room for one email (4 + 1 <= 5).
    busy = routing_agent(database, "Busy", capacity={"web_chat": 4, "email": 5})
    for _ in range(2):
        chat = queued_ticket(database, channel=Channel.WEB_CHAT)
        offer_id, agent_id = offer_of(database, chat)
        assert agent_id == busy.agent_id
        accept_as(database, offer_id, agent_id)

    third_chat = queued_ticket(database, channel=Channel.WEB_CHAT)
    email = queued_ticket(database, channel=Channel.EMAIL)

    assert offer_of(database, third_chat) is None  # waits: nobody has room for a chat
    assert offer_of(database, email)[1] == busy.agent_id
    with database.transaction() as session:
        load = next(a for a in routing.agent_loads(session) if a.agent_id == busy.agent_id)
    assert load.load == 4 and load.open_tickets == {"web_chat": 2} and load.open_offers == 1


def test_least_loaded_then_longest_idle_agent_is_offered(database, policy, clock):
    first = routing_agent(database, "First")
    clock.advance(minutes=1)
    second = routing_agent(database, "Second")  # came online later: idle for less time

    one = queued_ticket(database)
    assert offer_of(database, one)[1] == first.agent_id  # equal load: the longest idle
    two = queued_ticket(database)
    assert offer_of(database, two)[1] == second.agent_id  # first holds an offer: more load


def test_a_declined_offer_moves_on_and_a_timed_out_one_too(database, policy, clock):
    a = routing_agent(database, "Ann")
    clock.advance(seconds=1)
    b = routing_agent(database, "Bob")
    clock.advance(seconds=1)
    c = routing_agent(database, "Cid")
    ticket_id = queued_ticket(database, channel=Channel.EMAIL)
    offer_id, to = offer_of(database, ticket_id)
    assert to == a.agent_id

    with database.transaction() as session:
        routing.decline_offer(session, offer_id, agents.get_agent(session, a.agent_id), "on a call")
    offer_id, to = offer_of(database, ticket_id)
    assert to == b.agent_id

    clock.advance(seconds=299)
    run_jobs(database)
    assert offer_of(database, ticket_id) == (offer_id, b.agent_id)  # not yet
    clock.advance(seconds=2)
    run_jobs(database)  # routing.expire_offer, enqueued for the offer's expiry
    assert offer_of(database, ticket_id)[1] == c.agent_id

    kinds = [
        e.kind
        for e in events_of_kind(database, "routing.declined") + events_of_kind(database, "routing.expired")
    ]
    assert kinds == ["routing.declined", "routing.expired"]
    with database.transaction() as session:
        outcomes = routing.offer_outcomes(session, clock.now() - timedelta(hours=1))
    assert outcomes.totals["declined"] == 1 and outcomes.totals["expired"] == 1
    assert outcomes.totals["offered"] == 1


def test_overflow_widens_to_secondary_skills_then_to_the_parent_team(database, policy, clock):
    parent = routing_team(database, "All hands")
    child = routing_team(database, "Shipping", parent_id=parent)
    helper = routing_agent(database, "Returns person", skills={"returns": 2}, team_ids=(child,))
    ticket_id = queued_ticket(database, channel=Channel.PHONE, category="shipping_issue", team_id=child)
    assert offer_of(database, ticket_id) is None  # nobody in the team has shipping 3

    clock.advance(minutes=2)
    with database.transaction() as session:
        assert routing.sweep(session).overflowed == [ticket_id]
    assert offer_of(database, ticket_id)[1] == helper.agent_id  # a secondary skill counts now

    offer_id, _ = offer_of(database, ticket_id)
    with database.transaction() as session:
        routing.decline_offer(session, offer_id, agents.get_agent(session, helper.agent_id), "not mine")
    outsider = routing_agent(database, "Parent team expert", skills={"shipping": 5}, team_ids=(parent,))
    assert offer_of(database, ticket_id) is None  # still only the ticket's own team

    clock.advance(minutes=3)
    with database.transaction() as session:
        routing.sweep(session)
    assert offer_of(database, ticket_id)[1] == outsider.agent_id
    stages = [e.data["stage"] for e in events_of_kind(database, "routing.overflowed")]
    assert stages == [1, 2]


def test_an_assignee_who_does_nothing_loses_the_ticket_and_the_lead_is_told(database, policy, clock):
    from relaydesk.auth.roles import Role

    frontline = routing_team(database, "Frontline")
    lead = routing_agent(database, "Lead", team_ids=(frontline,), role=Role.LEAD, online=False)
    idle = routing_agent(database, "Idle", team_ids=(frontline,))
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT, team_id=frontline)
    accept_as(database, *offer_of(database, ticket_id))
    other = routing_agent(database, "Other", team_ids=(frontline,))

    clock.advance(minutes=4, seconds=59)
    with database.transaction() as session:
        assert routing.sweep(session).reclaimed == []
    clock.advance(seconds=2)
    with database.transaction() as session:
        assert routing.sweep(session).reclaimed == [ticket_id]

    reclaimed = events_of_kind(database, "routing.reclaimed")
    assert [(e.data["agent_id"], e.data["told_lead_ids"]) for e in reclaimed] == [
        (idle.agent_id, [lead.agent_id])
    ]
    ticket = reload_ticket(database, ticket_id)
    assert ticket.assignee_id is None and ticket.status is TicketStatus.QUEUED
    assert offer_of(database, ticket_id)[1] == other.agent_id  # not back to the one who sat on it


def test_an_assignee_who_replied_keeps_the_ticket(database, policy, clock):
    worker = routing_agent(database, "Worker")
    ticket_id = queued_ticket(database, channel=Channel.WEB_CHAT)
    accept_as(database, *offer_of(database, ticket_id))
    clock.advance(minutes=1)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        note = MessageCreate(body="Checking the courier", public=False)
        tickets.add_agent_message(session, ticket, note, worker.agent_id)

    clock.advance(minutes=10)
    with database.transaction() as session:
        assert routing.sweep(session).reclaimed == []
    assert reload_ticket(database, ticket_id).assignee_id == worker.agent_id


def test_a_returning_customer_gets_their_previous_agent(database, policy, clock):
    routing_agent(database, "Early")
    clock.advance(minutes=1)
    usual = routing_agent(database, "Usual")
    first = queued_ticket(database, email="regular@example.com")
    with database.transaction() as session:
        # A supervisor gave the first ticket to "Usual" (not the router's first choice).
        routing.reassign(
            session, tickets.get_ticket(session, first), usual.agent_id, tickets.Actor(AuthorKind.SYSTEM)
        )
    clock.advance(hours=2)

    second = queued_ticket(database, email="regular@example.com")

    assert offer_of(database, second)[1] == usual.agent_id


def test_next_ticket_takes_the_most_urgent_then_vip_then_oldest(database, policy, clock):
    puller = routing_agent(database, "Puller", online=False)  # offline: nothing is pushed to them
    old_normal = queued_ticket(database)
    clock.advance(minutes=1)
    newer_normal_vip = queued_ticket(database, tier=CustomerTier.VIP, channel=Channel.EMAIL)
    clock.advance(minutes=1)
    high = queued_ticket(database, priority=Priority.HIGH)
    with database.transaction() as session:
        positions = [routing.queue_position(session, t) for t in (old_normal, high)]
    assert positions == [2, 1]  # the VIP email waits in the live queue, not here

    taken = []
    for _ in range(4):
        with database.transaction() as session:
            ticket = routing.next_ticket(session, agents.get_agent(session, puller.agent_id))
            taken.append(ticket.id if ticket is not None else None)
    # Live work first, then by priority and age.
    assert taken == [newer_normal_vip, high, old_normal, None]
    assert reload_ticket(database, high).assignee_id == puller.agent_id
    assert reload_ticket(database, high).status is TicketStatus.OPEN


def test_auto_assign_mode_assigns_without_an_offer(database, policy, clock):
    policy(mode="assign")
    solo = routing_agent(database, "Solo")
    ticket_id = queued_ticket(database)
    assert reload_ticket(database, ticket_id).assignee_id == solo.agent_id
    assert offer_of(database, ticket_id) is None
    assert [e.data["agent_id"] for e in events_of_kind(database, "routing.assigned")] == [solo.agent_id]


def test_an_agent_outside_working_hours_is_not_offered(database, policy, clock):
    # The clock fixture starts Monday 2026-12-07 09:00 UTC: 18:00 in Tokyo, after a 09-17 day.
    routing_agent(database, "Tokyo", timezone="Asia/Tokyo", working_hours={"mon": ["09:00-17:00"]})
    berlin = routing_agent(
        database, "Berlin", timezone="Europe/Berlin", working_hours={"mon": ["09:00-17:00"]}
    )
    ticket_id = queued_ticket(database)
    assert offer_of(database, ticket_id)[1] == berlin.agent_id


def test_needs_triage_and_callback_tickets_stay_where_they_are(database, policy, clock):
    routing_agent(database, "Anyone")
    ticket_id = queued_ticket(database, route=False)
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        tickets.flag_ticket(session, ticket, "needs_triage", queue=QueueKind.TRIAGE)
    assert route_now(database, ticket_id).queue is QueueKind.TRIAGE
    assert offer_of(database, ticket_id) is None


def test_expected_wait_is_unknown_without_history_and_follows_handling_times(database, policy, clock):
    worker = routing_agent(database, "Worker", capacity={"email": 1})
    done = queued_ticket(database)
    accept_as(database, *offer_of(database, done))
    waiting = queued_ticket(database)
    with database.transaction() as session:
        assert routing.queue_position(session, waiting) == 1
        assert routing.expected_wait(session, waiting) is None  # nothing handled yet: no basis

    clock.advance(minutes=4)
    with database.transaction() as session:
        tickets.add_agent_message(
            session, tickets.get_ticket(session, done), MessageCreate(body="Sorted"), worker.agent_id
        )
    with database.transaction() as session:
        assert routing.expected_wait(session, waiting) == timedelta(minutes=4)
        overview = {q.queue: q for q in routing.queue_overview(session)}
    assert overview[QueueKind.MESSAGING].waiting == 1
    assert overview[QueueKind.MESSAGING].longest_wait_seconds == 240


def test_the_waiting_list_is_longest_waiting_first_bounded_and_skips_tickets_taken_by_hand(
    database, policy, clock
):
    ann = routing_agent(database, "Ann", online=False)  # nobody online: everything waits
    by_hand = queued_ticket(database)
    clock.advance(minutes=1)
    older = queued_ticket(database)
    clock.advance(minutes=1)
    high = queued_ticket(database, priority=Priority.HIGH)  # first in the queue order, last in waiting time
    with database.transaction() as session:  # taken by hand, outside routing
        tickets.assign_ticket(session, tickets.get_ticket(session, by_hand), ann.agent_id, SYSTEM, "by hand")

    with database.transaction() as session:
        shown = routing.waiting_tickets(session, QueueKind.MESSAGING, 10)
        bounded = routing.waiting_tickets(session, QueueKind.MESSAGING, 1)
        live = routing.waiting_tickets(session, QueueKind.LIVE, 10)
        assert routing.queue_position(session, high) == 1

    assert [w.ticket_id for w in shown] == [older, high]
    assert [w.ticket_id for w in bounded] == [older]
    assert live == []


def test_requeue_withdraws_the_offer_and_offers_the_ticket_to_someone_else(database, policy, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    assert offer_of(database, ticket_id)[1] == ann.agent_id
    bob = routing_agent(database, "Bob")
    clock.advance(minutes=1)

    with database.transaction() as session:
        decision = routing.return_to_queue(session, tickets.get_ticket(session, ticket_id), SYSTEM)

    assert decision.agent_id == bob.agent_id and offer_of(database, ticket_id)[1] == bob.agent_id
    [requeued] = events_of_kind(database, "routing.requeued")
    assert requeued.data["from_agent_id"] is None and requeued.data["withdrawn_offer_id"] is not None
    with database.transaction() as session:  # it kept its place: still queued since it arrived
        [waiting] = routing.waiting_tickets(session, QueueKind.MESSAGING, 10)
        assert routing.queue_position(session, ticket_id) == 1
    assert clock.now() - as_utc(waiting.queued_at) == timedelta(minutes=1)


def test_requeue_takes_an_assigned_ticket_back_and_passes_its_assignee_over(database, policy, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    accept_as(database, *offer_of(database, ticket_id))
    assert reload_ticket(database, ticket_id).assignee_id == ann.agent_id

    with database.transaction() as session:
        decision = routing.return_to_queue(session, tickets.get_ticket(session, ticket_id), SYSTEM)

    ticket = reload_ticket(database, ticket_id)
    assert ticket.assignee_id is None and ticket.status is TicketStatus.QUEUED
    assert decision.agent_id is None and offer_of(database, ticket_id) is None  # only Ann, passed over
    bob = routing_agent(database, "Bob")
    with database.transaction() as session:  # the sweep offers waiting tickets to agents who came free
        routing.sweep(session)
    assert offer_of(database, ticket_id)[1] == bob.agent_id
    assert events_of_kind(database, "routing.requeued")[0].data["from_agent_id"] == ann.agent_id
