"""IMAP polling against a real (private) Dovecot: each message taken once, flagged after the commit."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

from sqlalchemy import select, update

import relaydesk.channels.email.tasks  # noqa: F401  (registers the periodic job, as discover_tasks does)
from relaydesk.channels.email.imap import poll_mailboxes
from relaydesk.channels.email.models import MailboxState
from relaydesk.channels.models import QuarantinedInput
from relaydesk.jobs import Job, JobState, enqueue
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
    """What `relaydesk email imap-poll` does: one pass, each message in its own transaction."""
    return poll_mailboxes(database.transaction)


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


def test_a_slow_mailbox_holds_no_lock_and_an_overlapping_pass_takes_each_message_once(
    database, email_env, dovecot
):
    direct = dovecot.new_mailbox()
    with ImapProxy(dovecot.port, stall_on=b"UID FETCH") as proxy:
        mailbox = {**direct, "port": proxy.port}
        configure(email_env, mailbox)
        poll_once(database)  # the mailbox's bookmark row exists from here on
        dovecot.append(mailbox, numbered_mail(1))
        with database.transaction() as session:
            job_id = enqueue(session, "channels.poll_email_mailboxes")
        slow = threading.Thread(target=run_email_jobs, args=(database,))
        slow.start()
        try:
            assert proxy.stalled.wait(10), "the worker's pass never reached FETCH"
            # The IMAP server hangs mid-fetch. Writers of the same bookmark row carry on: an admin
            # clearing its error, and a second pass (the CLI beside the worker), which the relay
            # lets through.
            other = threading.Thread(target=clear_error_then_poll, args=(database,))
            other.start()
            other.join(timeout=8)
            assert not other.is_alive(), "a writer waited for the slow IMAP server"
        finally:
            proxy.release()
            slow.join(timeout=30)
    with database.transaction(read_only=True) as session:
        assert session.get(Job, job_id).state == JobState.DONE
    assert count(database, Ticket) == 1 and count(database, Message) == 1  # taken once, by the CLI
    flags, _ = dovecot.flags_and_count(mailbox)
    assert "\\Seen" in flags[0]


def clear_error_then_poll(database) -> None:
    with database.transaction() as session:
        session.execute(update(MailboxState).values(last_error=None))
    poll_once(database)


def test_a_poll_killed_between_fetch_and_store_loses_and_duplicates_nothing(
    database, database_url, email_env, dovecot
):
    direct = dovecot.new_mailbox()
    with ImapProxy(dovecot.port, stall_on=b"UID FETCH") as proxy:
        mailbox = {**direct, "port": proxy.port}  # the relay's port is part of the bookmark's key
        configure(email_env, mailbox)
        poll_once(database)
        dovecot.append(mailbox, numbered_mail(1))
        poller = start_imap_poll_command(database_url, mailbox)
        try:
            assert proxy.stalled.wait(30), "the poll never reached FETCH"
            # Hold the bookmark row so the fetched message cannot be stored, then kill the poller.
            with database.transaction() as session:
                session.execute(update(MailboxState).values(last_error="held by the test"))
                proxy.release()
                assert proxy.answered.wait(10), "the IMAP server did not answer the FETCH"
                time.sleep(0.5)
                poller.kill()
                poller.wait(timeout=10)
                session.rollback()
        finally:
            poller.kill()
        assert count(database, Ticket) == 0
        assert "\\Seen" not in dovecot.flags_and_count(mailbox)[0][0]
        [retry] = poll_once(database)
    assert retry.accepted == 1 and count(database, Ticket) == 1
    assert "\\Seen" in dovecot.flags_and_count(mailbox)[0][0]


def test_a_poll_killed_between_store_and_flag_flags_on_the_next_pass_without_duplicating(
    database, database_url, email_env, dovecot
):
    direct = dovecot.new_mailbox()
    with ImapProxy(dovecot.port, stall_on=b"UID STORE") as proxy:
        mailbox = {**direct, "port": proxy.port}  # the relay's port is part of the bookmark's key
        configure(email_env, mailbox)
        poll_once(database)
        dovecot.append(mailbox, numbered_mail(1))
        poller = start_imap_poll_command(database_url, mailbox)
        try:
            assert proxy.stalled.wait(30), "the poll never reached STORE"
            poller.kill()
            poller.wait(timeout=10)
        finally:
            poller.kill()
            proxy.release(forward=False)  # the STORE died with the poller
        assert count(database, Ticket) == 1
        assert "\\Seen" not in dovecot.flags_and_count(mailbox)[0][0]
        [retry] = poll_once(database)
    assert retry.accepted == 0 and retry.error is None
    assert count(database, Ticket) == 1 and count(database, Message) == 1
    assert "\\Seen" in dovecot.flags_and_count(mailbox)[0][0]


def start_imap_poll_command(database_url: str, mailbox: dict) -> subprocess.Popen[bytes]:
    """`relaydesk email imap-poll` as its own process, so the test can kill it mid-pass."""
    env = {
        **os.environ,
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_EMAIL_IMAP_MAILBOXES": json.dumps([mailbox]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "relaydesk.cli", "email", "imap-poll"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class ImapProxy:
    """A TCP relay to Dovecot that holds the first client command containing ``stall_on``.

    It plays a slow or hung IMAP server: ``stalled`` is set once that command arrived, nothing is
    passed on until ``release()``, and ``answered`` is set once the server replied after it.
    """

    def __init__(self, upstream_port: int, *, stall_on: bytes):
        self.upstream_port = upstream_port
        self.stall_on = stall_on
        self.stalled = threading.Event()
        self.answered = threading.Event()
        self._released = threading.Event()
        self._forward = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = [self._listener]

    def __enter__(self) -> ImapProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def release(self, *, forward: bool = True) -> None:
        """Let the held command through, or drop it (and its connection) with ``forward=False``."""
        self._forward = forward
        self._released.set()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
                self._sockets += [client, server]
                threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
                threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if from_client and self.stall_on in chunk and not self.stalled.is_set():
                    self.stalled.set()
                    self._released.wait()
                    if not self._forward:
                        target.close()
                        return
                elif not from_client and self._released.is_set() and self.stalled.is_set():
                    self.answered.set()
                target.sendall(chunk)


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
