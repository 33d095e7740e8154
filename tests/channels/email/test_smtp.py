"""Email end to end over real SMTP: customer → built-in server → ticket → agent reply → smarthost → customer.

The built-in server (aiosmtpd, Relaydesk's handler), the outbox job and a real worker run for
real; only the smarthost is a local aiosmtpd sink that keeps what it receives.
"""

from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update

from relaydesk.channels.email.tokens import outbound_message_id, verify_reply_token
from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.channels.tasks import deliver_message
from relaydesk.jobs.models import Job, JobState
from relaydesk.jobs.worker import Worker
from relaydesk.kit.time import utcnow
from relaydesk.settings import get_settings
from relaydesk.tickets.models import Message, Ticket
from tests.channels.email.conftest import (
    SUPPORT,
    SUPPORT_DOMAIN,
    build_email,
    park_other_jobs,
    run_email_jobs,
)
from tests.factories import make_agent

CUSTOMER = "ann.lee@example.com"


def customer_mail(
    subject: str = "Order 48213 arrived damaged",
    body: str = "The box was crushed and the mug is broken.",
    sender: str = f"Ann Lee <{CUSTOMER}>",
    to: str = SUPPORT,
    **headers: str,
) -> EmailMessage:
    return build_email(
        sender=sender,
        subject=subject,
        body=body,
        message_id=make_msgid(domain="mail.example.com"),
        to=to,
        **headers,
    )


def send_by_smtp(server: tuple[str, int], message: EmailMessage) -> None:
    with smtplib.SMTP(*server, timeout=10) as smtp:
        assert smtp.send_message(message) == {}


def tickets_of(database) -> list[Ticket]:
    with database.transaction(read_only=True) as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def reply_as_agent(client, agent, ticket_id: int, body: str) -> dict:
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"body": body}, headers=agent.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_mail_becomes_a_ticket_the_reply_threads_back_and_the_answer_joins_the_ticket(
    client, database, smtp_server, smtp_sink
):
    first = customer_mail()
    send_by_smtp(smtp_server, first)
    [ticket] = tickets_of(database)  # acknowledged with 250 only after the commit
    assert ticket.channel == "email" and ticket.subject == "Order 48213 arrived damaged"

    agent = make_agent(database)
    reply = reply_as_agent(client, agent, ticket.id, "Sorry about that! A new mug ships today.")
    run_email_jobs(database)
    [sent] = smtp_sink.wait_for(1)
    mime = sent.message
    assert sent.recipients == [CUSTOMER]
    assert mime["To"].addresses[0].addr_spec == CUSTOMER
    assert mime["From"].addresses[0].addr_spec == SUPPORT
    assert mime["Subject"] == "Re: Order 48213 arrived damaged"
    assert mime["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in mime["References"]
    secret = get_settings().secret
    assert mime["Message-ID"] == outbound_message_id(ticket.id, reply["id"], secret, SUPPORT_DOMAIN)
    reply_to = mime["Reply-To"].addresses[0]
    assert verify_reply_token(reply_to.username.split("+", 1)[1], secret) == ticket.id
    # Bounces to the envelope sender come back tied to the ticket too.
    assert verify_reply_token(sent.mail_from.split("@")[0].split("+", 1)[1], secret) == ticket.id
    assert "A new mug ships today." in mime.get_body(("plain",)).get_content()
    with database.transaction(read_only=True) as session:
        delivery = session.scalar(select(Delivery).where(Delivery.message_id == reply["id"]))
        assert delivery.status is DeliveryStatus.SENT and delivery.provider_message_id == mime["Message-ID"]

    # The customer answers from their mail client: new subject line, quoted text, sent to Reply-To.
    answer = customer_mail(
        subject="Re: Re: Order 48213 arrived damaged",
        body="Thanks, received the tracking number.\n\nOn Tue, Acme Support wrote:\n> Sorry about that!",
        to=str(mime["Reply-To"]),
        In_Reply_To=mime["Message-ID"],
        References=f"{first['Message-ID']} {mime['Message-ID']}",
    )
    send_by_smtp(smtp_server, answer)
    assert [t.id for t in tickets_of(database)] == [ticket.id]
    with database.transaction(read_only=True) as session:
        texts = [m.body_text for m in session.scalars(select(Message).where(Message.ticket_id == ticket.id))]
    assert texts[-1] == "Thanks, received the tracking number."


def test_answer_from_another_customer_to_a_forwarded_reply_opens_their_own_ticket(
    client, database, smtp_server, smtp_sink
):
    send_by_smtp(smtp_server, customer_mail())
    [victim] = tickets_of(database)
    victims_reply_id = outbound_message_id(victim.id, 1, get_settings().secret, SUPPORT_DOMAIN)
    forged_id = outbound_message_id(victim.id, 1, b"a-key-that-is-not-relaydesks-000000", SUPPORT_DOMAIN)
    for in_reply_to in (victims_reply_id, forged_id):
        send_by_smtp(
            smtp_server,
            customer_mail(
                sender="Mallory <mallory@evil.example>",
                subject="Re: Order 48213 arrived damaged",
                body="Please send the refund to my account instead.",
                In_Reply_To=in_reply_to,
                References=in_reply_to,
            ),
        )
    tickets = tickets_of(database)
    # Mallory's From is unauthenticated and her tokens do not prove her a ticket: each mail is new.
    assert len(tickets) == 3 and tickets[0].id == victim.id
    with database.transaction(read_only=True) as session:
        on_victim = session.scalars(select(Message).where(Message.ticket_id == victim.id)).all()
    assert [m.meta["from"] for m in on_victim] == [CUSTOMER]


def test_recipients_outside_the_support_addresses_are_refused_at_rcpt(database, smtp_server):
    with smtplib.SMTP(*smtp_server, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(CUSTOMER)
        code, _ = smtp.rcpt("ceo@acme.test")
        assert code == 550
        assert smtp.rcpt("support+anything@acme.test")[0] == 250
        assert smtp.rcpt("Billing@HELP.acme.test")[0] == 250  # a whole accepted domain
    assert tickets_of(database) == []


def test_oversize_message_is_refused_at_data_with_552(database, smtp_server):
    big = customer_mail(body="x" * 300_000).as_bytes()
    with smtplib.SMTP(*smtp_server, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.mail(CUSTOMER)[0] == 250  # no SIZE= given: the limit bites at DATA
        assert smtp.rcpt(SUPPORT)[0] == 250
        code, _ = smtp.data(big)
        assert code == 552
    assert tickets_of(database) == []


def test_bounce_of_a_reply_becomes_a_note_on_its_ticket_and_is_never_answered(
    client, database, smtp_server, smtp_sink
):
    send_by_smtp(smtp_server, customer_mail())
    [ticket] = tickets_of(database)
    reply_as_agent(client, make_agent(database), ticket.id, "We will call you.")
    run_email_jobs(database)
    [sent] = smtp_sink.wait_for(1)
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.example.com"
    bounce["To"] = sent.mail_from
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = make_msgid(domain="mx.example.com")
    bounce.set_content("Mailbox full.")
    with smtplib.SMTP(*smtp_server, timeout=10) as smtp:
        smtp.sendmail("", [sent.mail_from], bounce.as_bytes())  # null envelope sender, as bounces use
    with database.transaction(read_only=True) as session:
        messages = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).all()
        notes = [m for m in messages if not m.public]
    assert len(notes) == 1 and "Mailbox full." in notes[0].body_text
    run_email_jobs(database)
    assert len(smtp_sink.received) == 1  # the bounce was not answered
    assert len(tickets_of(database)) == 1


def test_refused_recipient_fails_the_reply_at_once(client, database, smtp_server, smtp_sink):
    send_by_smtp(smtp_server, customer_mail())
    [ticket] = tickets_of(database)
    smtp_sink.refused.add(CUSTOMER)
    reply = reply_as_agent(client, make_agent(database), ticket.id, "Hello?")
    run_email_jobs(database)
    with database.transaction(read_only=True) as session:
        assert session.get(Message, reply["id"]).delivery_state == "failed"
        delivery = session.scalar(select(Delivery))
        assert delivery.status is DeliveryStatus.FAILED and "550" in delivery.last_error


def test_a_reply_resent_after_a_lost_commit_keeps_its_message_id(client, database, smtp_server, smtp_sink):
    """SMTP has no idempotency key: if the job's commit is lost after the smarthost said 250, the
    retry sends again. The copy carries the same Message-ID, so mail systems and clients merge it."""
    send_by_smtp(smtp_server, customer_mail())
    [ticket] = tickets_of(database)
    reply = reply_as_agent(client, make_agent(database), ticket.id, "Refund issued.")
    with database.transaction() as session:
        deliver_message(session, message_id=reply["id"])
        session.rollback()  # the commit that never happened
    run_email_jobs(database)
    first, second = smtp_sink.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"]
    # Once the delivery is recorded, re-running the job sends nothing more.
    with database.transaction() as session:
        session.execute(update(Job).values(state=JobState.QUEUED, run_at=utcnow()))
    run_email_jobs(database)
    time.sleep(0.2)
    assert len(smtp_sink.received) == 2


@pytest.mark.timeout(120)
def test_smtp_outage_delays_replies_but_each_arrives_exactly_once(client, database, smtp_server, smtp_sink):
    """The smarthost is down through several backoff cycles while a real worker thread retries.

    Backoff waits (2 s, 4 s, 8 s, … with jitter) are compressed: whenever the delivery jobs are back
    in the queue with a new error, the test moves their run_at to now instead of waiting.
    """
    for number in range(2):
        send_by_smtp(
            smtp_server,
            customer_mail(sender=f"Customer {number} <c{number}@example.com>", subject=f"Q{number}"),
        )
    agent = make_agent(database)
    smtp_sink.down()
    replies = [reply_as_agent(client, agent, t.id, f"Answer for {t.subject}") for t in tickets_of(database)]
    park_other_jobs(database)
    worker = Worker(database, schedule_periodic=False)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        cycles = 0
        deadline = time.monotonic() + 60
        while cycles < 4:
            assert time.monotonic() < deadline, "the worker did not retry"
            with database.transaction() as session:
                jobs = session.scalars(select(Job).where(Job.name == "channels.deliver_message")).all()
                if all(j.state is JobState.QUEUED and j.attempts > cycles for j in jobs):
                    assert all("unreachable" in (j.last_error or "") for j in jobs)
                    session.execute(
                        update(Job).where(Job.name == "channels.deliver_message").values(run_at=utcnow())
                    )
                    cycles += 1
            time.sleep(0.05)
        assert smtp_sink.received == []
        with database.transaction(read_only=True) as session:
            assert {
                m.delivery_state
                for m in session.scalars(
                    select(Message).where(Message.public, Message.author_kind == "agent")
                )
            } == {"queued"}
        smtp_sink.up()
        with database.transaction() as session:
            session.execute(update(Job).where(Job.state == JobState.QUEUED).values(run_at=utcnow()))
        received = smtp_sink.wait_for(2)
        time.sleep(0.5)  # would a third copy arrive?
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert len(smtp_sink.received) == 2
    assert sorted(m.message["Subject"] for m in received) == ["Re: Q0", "Re: Q1"]
    assert len({m.message["Message-ID"] for m in received}) == 2
    with database.transaction(read_only=True) as session:
        for reply in replies:
            assert session.get(Message, reply["id"]).delivery_state == "sent"
            delivery = session.scalar(select(Delivery).where(Delivery.message_id == reply["id"]))
            assert delivery.status is DeliveryStatus.SENT
        attempts = session.scalars(select(Job.attempts).where(Job.name == "channels.deliver_message")).all()
        # At least four refused tries each (a fifth may race the sink's return), then one that got through.
        assert len(attempts) == 2 and min(attempts) >= 5


def test_message_written_by_the_bot_is_marked_auto_submitted(database, smtp_server, smtp_sink):
    from relaydesk.tickets import service as tickets
    from relaydesk.tickets.enums import AuthorKind
    from relaydesk.tickets.schemas import MessageCreate

    send_by_smtp(smtp_server, customer_mail())
    [ticket] = tickets_of(database)
    with database.transaction() as session:
        question = MessageCreate(body="Which order number is it about?")
        tickets.add_agent_message(
            session, session.get(Ticket, ticket.id), question, None, author_kind=AuthorKind.BOT
        )
    run_email_jobs(database)
    [sent] = smtp_sink.wait_for(1)
    # The customer's out-of-office must not answer it, and a loop can never start.
    assert sent.message["Auto-Submitted"] == "auto-replied"
