"""The queue follows the ticket: a change made elsewhere (priority, the customer's tier, the queue, the
status, an assignment by hand) reaches routing through ``routing.follow_ticket`` /
``routing.follow_customer``, the jobs tickets and customers enqueue, run here by the real worker."""

from __future__ import annotations

from sqlalchemy import delete, select

from relaydesk.auth.roles import Role
from relaydesk.customers import service as customers
from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.customers.schemas import CustomerUpdate
from relaydesk.routing import service as routing
from relaydesk.routing.enums import OfferState
from relaydesk.routing.models import RoutingOffer, RoutingState
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Priority, QueueKind, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from tests.factories import events_of_kind, run_jobs
from tests.routing.conftest import accept_as, offer_of, queued_ticket, reload_ticket, routing_agent

SUPERVISOR = Actor(AuthorKind.SYSTEM)


def _update(database, ticket_id: int, **changes) -> None:
    with database.transaction() as session:
        ticket = tickets.lock_ticket(session, ticket_id)
        assert ticket is not None
        tickets.update_ticket(session, ticket, TicketUpdate(**changes), SUPERVISOR)


def _set_ticket_status(database, ticket_id: int, status: TicketStatus) -> None:
    with database.transaction() as session:
        ticket = tickets.lock_ticket(session, ticket_id)
        assert ticket is not None
        tickets.change_status(session, ticket, StatusChange(status=status), SUPERVISOR)


def _position(database, ticket_id: int) -> int | None:
    with database.transaction(read_only=True) as session:
        return routing.queue_position(session, ticket_id)


def _state(database, ticket_id: int) -> RoutingState:
    with database.transaction(read_only=True) as session:
        state = session.get(RoutingState, ticket_id)
        assert state is not None
        return state


def _waiting_count(database, queue: QueueKind) -> int:
    with database.transaction() as session:
        return next(o.waiting for o in routing.queue_overview(session) if o.queue is queue)


# -- the order follows the ticket ---------------------------------------------------------------------


def test_raising_the_priority_of_a_waiting_ticket_moves_it_ahead(database, policy, clock):
    first = queued_ticket(database)  # nobody online: both wait in the messaging queue
    clock.advance(minutes=1)
    second = queued_ticket(database)
    assert (_position(database, first), _position(database, second)) == (1, 2)

    _update(database, second, priority=Priority.HIGH)
    run_jobs(database)

    assert (_position(database, second), _position(database, first)) == (1, 2)
    assert _state(database, second).priority_rank == Priority.HIGH.rank


def test_an_urgent_priority_moves_the_ticket_to_the_live_queue(database, policy, clock):
    ticket_id = queued_ticket(database)
    assert _state(database, ticket_id).queue is QueueKind.MESSAGING

    _update(database, ticket_id, priority=Priority.URGENT)
    run_jobs(database)

    assert _state(database, ticket_id).queue is QueueKind.LIVE
    assert reload_ticket(database, ticket_id).queue is QueueKind.LIVE
    assert (_waiting_count(database, QueueKind.LIVE), _waiting_count(database, QueueKind.MESSAGING)) == (1, 0)
    assert events_of_kind(database, "routing.queued")[-1].data == {
        "queue": "live",
        "reason": "priority urgent",
    }


def test_a_customer_who_becomes_vip_is_served_first(database, policy, clock):
    ahead = queued_ticket(database, priority=Priority.URGENT)  # both live: urgent
    clock.advance(minutes=1)
    later = queued_ticket(database, priority=Priority.URGENT)
    assert _position(database, later) == 2

    with database.transaction() as session:
        ticket = tickets.get_ticket(session, later)
        assert ticket is not None
        customer_id = ticket.customer_id
        customers.update_customer(session, customer_id, CustomerUpdate(tier="vip"))
    run_jobs(database)

    assert _state(database, later).vip
    assert (_position(database, later), _position(database, ahead)) == (1, 2)


def test_moving_a_waiting_ticket_to_the_other_queue_by_hand_moves_it_there(database, policy, clock):
    ticket_id = queued_ticket(database)

    _update(database, ticket_id, queue=QueueKind.LIVE)
    run_jobs(database)

    assert _state(database, ticket_id).queue is QueueKind.LIVE
    assert (_waiting_count(database, QueueKind.LIVE), _waiting_count(database, QueueKind.MESSAGING)) == (1, 0)
    assert _position(database, ticket_id) == 1


def test_a_category_change_withdraws_an_offer_from_an_agent_who_no_longer_fits(database, policy, clock):
    shipping = routing_agent(database, "Shipper", skills={"shipping": 4})
    biller = routing_agent(database, "Biller", skills={"billing": 3})
    ticket_id = queued_ticket(database, category="shipping_issue")
    assert offer_of(database, ticket_id)[1] == shipping.agent_id

    _update(database, ticket_id, category="billing_question")
    run_jobs(database)

    assert offer_of(database, ticket_id)[1] == biller.agent_id
    assert [e.data["reason"] for e in events_of_kind(database, "routing.offer_cancelled")] == [
        "the ticket changed: the agent is no longer a match"
    ]


# -- a ticket taken another way leaves the queue --------------------------------------------------


def _open_offers(database, ticket_id: int) -> list[RoutingOffer]:
    with database.transaction(read_only=True) as session:
        return list(
            session.scalars(
                select(RoutingOffer).where(
                    RoutingOffer.ticket_id == ticket_id, RoutingOffer.state == OfferState.OFFERED
                )
            )
        )


def test_resolving_an_offered_ticket_cancels_the_offer_and_empties_its_place(database, policy, clock):
    ann = routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    behind = queued_ticket(database)  # Ann has a messaging offer open for each (capacity 10)
    assert offer_of(database, ticket_id)[1] == ann.agent_id
    assert _waiting_count(database, QueueKind.MESSAGING) == 2

    _set_ticket_status(database, ticket_id, TicketStatus.RESOLVED)
    run_jobs(database)

    assert _open_offers(database, ticket_id) == []
    with database.transaction(read_only=True) as session:
        assert [o.ticket_id for o in routing.pending_offers(session, ann.agent_id)] == [behind]
    state = _state(database, ticket_id)
    assert not state.waiting and state.overflow_due_at is None
    assert _waiting_count(database, QueueKind.MESSAGING) == 1
    assert _position(database, behind) == 1
    cancelled = events_of_kind(database, "routing.offer_cancelled")
    assert [e.data["reason"] for e in cancelled] == ["the ticket is resolved"]


def test_closing_a_waiting_ticket_takes_it_out_of_the_queue(database, policy, clock):
    ticket_id = queued_ticket(database)  # nobody online: it waits with no offer

    _set_ticket_status(database, ticket_id, TicketStatus.CLOSED)
    run_jobs(database)

    state = _state(database, ticket_id)
    assert not state.waiting and state.overflow_due_at is None
    assert _waiting_count(database, QueueKind.MESSAGING) == 0


def test_a_ticket_assigned_by_hand_over_the_api_leaves_the_queue_and_its_offer_goes(
    client, database, policy, clock
):
    ann = routing_agent(database, "Ann")
    bob = routing_agent(database, "Bob", online=False)
    ticket_id = queued_ticket(database)
    assert offer_of(database, ticket_id)[1] == ann.agent_id

    patched = client.patch(
        f"/api/v1/tickets/{ticket_id}", json={"assignee_id": bob.agent_id}, headers=bob.headers
    )
    assert patched.status_code == 200, patched.text
    run_jobs(database)

    assert client.get("/api/v1/routing/offers", headers=ann.headers).json() == []
    state = _state(database, ticket_id)
    assert not state.waiting and state.assignee_id == bob.agent_id and state.reclaim_due_at is None
    assert _waiting_count(database, QueueKind.MESSAGING) == 0
    assert [e.data["reason"] for e in events_of_kind(database, "routing.offer_cancelled")] == [
        f"assigned by hand to agent {bob.agent_id}"
    ]


def test_reassigning_a_routed_ticket_by_hand_stops_its_reclaim(database, policy, clock):
    ann = routing_agent(database, "Ann")
    bob = routing_agent(database, "Bob", online=False)
    ticket_id = queued_ticket(database)
    offer_id, _ = offer_of(database, ticket_id)
    accept_as(database, offer_id, ann.agent_id)
    assert _state(database, ticket_id).reclaim_due_at is not None

    _update(database, ticket_id, assignee_id=bob.agent_id)
    run_jobs(database)

    state = _state(database, ticket_id)
    assert state.assignee_id == bob.agent_id and state.reclaim_due_at is None
    clock.advance(minutes=500)  # past the messaging queue's reclaim
    with database.transaction() as session:
        assert routing.sweep(session).reclaimed == []
    assert reload_ticket(database, ticket_id).assignee_id == bob.agent_id


def test_a_deleted_ticket_takes_its_routing_rows_with_it(database, policy, clock):
    routing_agent(database, "Ann")
    ticket_id = queued_ticket(database)
    assert offer_of(database, ticket_id) is not None

    with database.transaction() as session:
        # No path deletes tickets today; a future one (or an operator) leaves no routing row behind.
        session.execute(delete(Ticket).where(Ticket.id == ticket_id))
    run_jobs(database)  # the expiry job of the gone offer finds nothing to do

    with database.transaction(read_only=True) as session:
        assert session.get(RoutingState, ticket_id) is None
        assert session.scalars(select(RoutingOffer).where(RoutingOffer.ticket_id == ticket_id)).all() == []
    assert _waiting_count(database, QueueKind.MESSAGING) == 0


def test_merging_a_customer_into_a_vip_serves_their_waiting_ticket_first(client, database, policy, clock):
    lead = routing_agent(database, "Lead", role=Role.LEAD, online=False)  # merging is a lead's decision
    ahead = queued_ticket(database, priority=Priority.URGENT)
    clock.advance(minutes=1)
    moved = queued_ticket(database, priority=Priority.URGENT, email="dana.chat@example.com")
    queued_ticket(database, email="dana@example.com", tier=CustomerTier.VIP)  # the record that stays
    with database.transaction(read_only=True) as session:
        source_id = session.get(Ticket, moved).customer_id
        target = customers.find_by_identity(session, IdentityKind.EMAIL, "dana@example.com")
        assert target is not None
    assert _position(database, moved) == 2

    merged = client.post(
        f"/api/v1/customers/{source_id}/merge", json={"into_id": target.id}, headers=lead.headers
    )
    assert merged.status_code == 200, merged.text
    run_jobs(database)

    assert _state(database, moved).vip and _state(database, moved).customer_id == target.id
    assert (_position(database, moved), _position(database, ahead)) == (1, 2)
