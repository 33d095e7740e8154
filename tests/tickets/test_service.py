import pytest
from sqlalchemy import func, select

from relaydesk.kit.errors import ConflictError
from relaydesk.tickets import service
from relaydesk.tickets.enums import AuthorKind, Channel, Priority, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Message, Ticket, TicketEvent
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from relaydesk.tickets.status import IllegalStatusTransitionError
from tests.factories import make_ticket

SYSTEM = Actor(AuthorKind.SYSTEM)


def _event_kinds(db, ticket_id):
    with db.transaction() as session:
        return [
            e.kind
            for e in session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            )
        ]


def test_creating_a_ticket_records_creation_and_first_message(database):
    ticket_id = make_ticket(database)
    assert _event_kinds(database, ticket_id) == ["ticket.created", "message.added"]
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.status is TicketStatus.NEW
        assert ticket.subject == "My order has not arrived"
        assert [m.author_kind for m in ticket.messages] == [AuthorKind.CUSTOMER]


def test_a_rolled_back_change_leaves_no_event(database):
    ticket_id = make_ticket(database)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        service.update_ticket(session, ticket, TicketUpdate(priority=Priority.URGENT), SYSTEM)
        raise Boom
    assert "ticket.priority_changed" not in _event_kinds(database, ticket_id)
    with database.transaction() as session:
        assert session.get(Ticket, ticket_id).priority is Priority.NORMAL


def test_illegal_status_move_is_a_conflict_and_changes_nothing(database):
    ticket_id = make_ticket(database)
    with pytest.raises(IllegalStatusTransitionError), database.transaction() as session:
        service.change_status(
            session, session.get(Ticket, ticket_id), StatusChange(status=TicketStatus.REOPENED), SYSTEM
        )
    with database.transaction() as session:
        assert session.get(Ticket, ticket_id).status is TicketStatus.NEW


def test_customer_reply_reopens_a_resolved_ticket_and_counts_it(database):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        for status in (TicketStatus.OPEN, TicketStatus.RESOLVED):
            service.change_status(session, ticket, StatusChange(status=status), SYSTEM)
        assert ticket.resolved_at is not None
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        service.add_customer_message(session, ticket, body="Still broken", channel=Channel.SMS)
        assert ticket.status is TicketStatus.REOPENED
        assert ticket.reopen_count == 1
        assert ticket.resolved_at is None
        assert ticket.reply_channel is Channel.SMS


def test_customer_reply_wakes_a_ticket_pending_on_them(database):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        service.change_status(session, ticket, StatusChange(status=TicketStatus.PENDING_CUSTOMER), SYSTEM)
        service.add_customer_message(session, ticket, body="Here is the order number", channel=Channel.EMAIL)
        assert ticket.status is TicketStatus.OPEN


def test_provider_retry_does_not_store_a_second_message(database):
    ticket_id = make_ticket(database)
    for _ in range(3):
        with database.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            service.add_customer_message(
                session, ticket, body="hello", channel=Channel.SMS, provider_message_id="SM123"
            )
    with database.transaction() as session:
        count = session.scalar(
            select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
        )
    assert count == 2  # the first message plus one SMS


def test_stale_version_update_is_a_conflict(database):
    ticket_id = make_ticket(database)
    with pytest.raises(ConflictError, match="changed since"), database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        service.update_ticket(session, ticket, TicketUpdate(priority=Priority.HIGH, version=99), SYSTEM)


def test_closed_ticket_cannot_be_edited(database):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        service.change_status(
            session, session.get(Ticket, ticket_id), StatusChange(status=TicketStatus.CLOSED), SYSTEM
        )
    with pytest.raises(ConflictError, match="follow-up"), database.transaction() as session:
        service.update_ticket(session, session.get(Ticket, ticket_id), TicketUpdate(category="x"), SYSTEM)


def test_same_customer_on_two_tickets_is_one_customer(database):
    first = make_ticket(database, email="Same@Example.COM")
    second = make_ticket(database, email="same@example.com")
    with database.transaction() as session:
        assert session.get(Ticket, first).customer_id == session.get(Ticket, second).customer_id


def test_auto_close_job_closes_long_resolved_tickets(database):
    from datetime import timedelta

    from relaydesk.kit.time import utcnow
    from relaydesk.tickets.tasks import AUTO_CLOSE_AFTER, close_resolved_tickets

    old, recent = make_ticket(database), make_ticket(database)
    with database.transaction() as session:
        for ticket_id in (old, recent):
            ticket = session.get(Ticket, ticket_id)
            service.change_status(session, ticket, StatusChange(status=TicketStatus.RESOLVED), SYSTEM)
        session.get(Ticket, old).resolved_at = utcnow() - AUTO_CLOSE_AFTER - timedelta(hours=1)
    with database.transaction() as session:
        assert close_resolved_tickets(session) == 1
    with database.transaction() as session:
        assert session.get(Ticket, old).status is TicketStatus.CLOSED
        assert session.get(Ticket, recent).status is TicketStatus.RESOLVED


def test_a_customer_message_does_not_make_an_agents_edit_stale(database):
    ticket_id = make_ticket(database)
    with database.transaction() as session:
        loaded_version = session.get(Ticket, ticket_id).version
    # The customer writes while the agent has the ticket open: the agent's save still applies.
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        service.add_customer_message(session, ticket, body="Any news?", channel=Channel.SMS)
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.reply_channel is Channel.SMS and ticket.last_customer_message_at is not None
        service.update_ticket(
            session, ticket, TicketUpdate(priority=Priority.HIGH, version=loaded_version), SYSTEM
        )
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.priority is Priority.HIGH
        assert ticket.version == loaded_version + 1  # the agent's edit is a change; the message was not
