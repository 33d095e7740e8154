"""IMAP polling against a real (private) Dovecot: each message taken once, flagged after the commit."""

from __future__ import annotations

import json

from sqlalchemy import select

import relaydesk.channels.email.tasks  # noqa: F401  (registers the periodic job, as discover_tasks does)
from relaydesk.channels.email.imap import poll_mailboxes
from relaydesk.channels.email.models import MailboxState
from relaydesk.channels.models import QuarantinedInput
from relaydesk.jobs import enqueue
from relaydesk.tickets.models import Message, Ticket
from tests.channels.email.conftest import CORPUS, build_email, run_email_jobs
from tests.factories import count, free_port


def numbered_mail(number: int, sender: str = "bo@example.com") -> bytes:
    return build_email(
        sender=f"Bo Jensen <{sender}>",
        subject=f"Question {number}",
        body=f"Body of question {number}.",
        message_id=f"<imap-{number}-{sender}>",
    ).as_bytes()


def configure(email_env, *mailboxes: dict) -> None:
    email_env(email_imap_mailboxes=json.dumps(list(mailboxes)))


def poll_once(database):
    """What `relaydesk email imap-poll` does: one pass in one transaction, flagged after the commit."""
    with database.transaction() as session:
        passes = poll_mailboxes(session)
    for mailbox_pass in passes:
        mailbox_pass.finish()
    return passes


def test_polling_takes_a_new_message_once_and_flags_it_seen(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox()
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1))
    [first] = poll_once(database)
    assert (first.accepted, first.quarantined, first.error) == (1, 0, None)
    with database.transaction(read_only=True) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.subject == "Question 1" and ticket.channel == "email"
        assert ticket.messages[0].meta["source"] == "email:imap"
    flags, total = dovecot.flags_and_count(mailbox)
    assert total == 1 and "\\Seen" in flags[0]
    # Later passes take only what is new, even if someone marks the old one unread again.
    dovecot.append(mailbox, numbered_mail(2))
    [second] = poll_once(database)
    assert second.accepted == 1
    [third] = poll_once(database)
    assert third.accepted == 0 and third.quarantined == 0
    assert count(database, Message) == 2


def test_first_pass_skips_mail_already_read_in_the_mailbox(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox()
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1), flags="\\Seen")
    dovecot.append(mailbox, numbered_mail(2))
    [result] = poll_once(database)
    assert result.accepted == 1
    with database.transaction(read_only=True) as session:
        assert session.scalars(select(Ticket.subject)).all() == ["Question 2"]


def test_a_rolled_back_pass_leaves_messages_unflagged_and_takes_them_next_time(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox()
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1))
    with database.transaction() as session:
        [lost] = poll_mailboxes(session)
        assert lost.accepted == 1
        session.rollback()  # the commit never happened (crash, database error)
    lost.abandon()
    flags, _ = dovecot.flags_and_count(mailbox)
    assert "\\Seen" not in flags[0]
    assert count(database, Ticket) == 0
    [retry] = poll_once(database)
    assert retry.accepted == 1 and count(database, Ticket) == 1


def test_move_mode_moves_taken_mail_to_the_processed_folder(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox(after="move", move_to="Relaydesk Done")
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1))
    dovecot.append(mailbox, (CORPUS / "missing_from.eml").read_bytes())
    [result] = poll_once(database)
    assert (result.accepted, result.quarantined) == (1, 1)
    assert dovecot.flags_and_count(mailbox)[1] == 0
    assert dovecot.flags_and_count(mailbox, "Relaydesk Done")[1] == 2
    assert count(database, QuarantinedInput) == 1


def test_a_new_uidvalidity_starts_over_without_duplicating(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox()
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1))
    poll_once(database)
    with database.transaction() as session:
        state = session.scalar(select(MailboxState))
        state.uidvalidity = 1  # as if the server had rebuilt the mailbox
        state.last_uid = 999
    dovecot.append(mailbox, numbered_mail(2))
    [result] = poll_once(database)
    assert result.accepted == 1  # only the unseen one; the first was flagged \Seen before
    assert count(database, Message) == 2


def test_unreachable_mailbox_is_reported_and_the_pass_goes_on(database, email_env, dovecot):
    # A closed port rather than a wrong password: Dovecot would penalise this address's next logins.
    broken = dovecot.new_mailbox(port=free_port())
    working = dovecot.new_mailbox()
    configure(email_env, broken, working)
    dovecot.append(working, numbered_mail(1))
    failed, succeeded = poll_once(database)
    assert failed.error and "cannot log in" in failed.error and failed.accepted == 0
    assert succeeded.error is None and succeeded.accepted == 1
    with database.transaction(read_only=True) as session:
        errors = session.scalars(select(MailboxState.last_error).order_by(MailboxState.id)).all()
    assert "cannot log in" in errors[0] and errors[1] is None


def test_the_periodic_job_polls_through_the_worker(database, email_env, dovecot):
    mailbox = dovecot.new_mailbox()
    configure(email_env, mailbox)
    dovecot.append(mailbox, numbered_mail(1))
    with database.transaction() as session:
        enqueue(session, "channels.poll_email_mailboxes")  # what the worker's scheduler does each minute
    run_email_jobs(database)
    assert count(database, Ticket) == 1
    flags, _ = dovecot.flags_and_count(mailbox)
    assert "\\Seen" in flags[0]


def test_imap_poll_command_takes_the_mail(database, database_url, email_env, dovecot, cli_env):
    mailbox = dovecot.new_mailbox()
    dovecot.append(mailbox, numbered_mail(7))
    result = cli_env(["email", "imap-poll"], RELAYDESK_EMAIL_IMAP_MAILBOXES=json.dumps([mailbox]))
    assert result.returncode == 0, result.stderr
    [summary] = json.loads(result.stdout)
    assert summary["accepted"] == 1 and summary["error"] is None
    assert count(database, Ticket) == 1
