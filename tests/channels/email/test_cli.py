"""`relaydesk email ingest`: an MTA pipes raw mail in; every file is accounted for, none is lost."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from relaydesk.channels.email import EmailLimits, EmailRejected, parse_email
from relaydesk.channels.email.models import EmailReceipt
from relaydesk.channels.models import QuarantinedInput
from relaydesk.tickets.models import Message, Ticket
from tests.channels.email.conftest import CORPUS, SUPPORT
from tests.factories import count, free_port

CORPUS_FILES = sorted([*CORPUS.glob("*.eml"), *CORPUS.glob("*.bin")])


def quarantined_by_design(path: Path) -> bool:
    """Unparseable or automatic mail (bounces, auto-replies, bulk, lists) never becomes a ticket."""
    try:
        return parse_email(path.read_bytes(), limits=EmailLimits()).auto_submitted is not None
    except EmailRejected:
        return True


def test_whole_corpus_through_the_command_is_accounted_for(database, email_env, cli_env):
    expected_quarantined = sum(quarantined_by_design(path) for path in CORPUS_FILES)
    assert len(CORPUS_FILES) >= 45 and expected_quarantined >= 10

    result = cli_env(["email", "ingest", *map(str, CORPUS_FILES), "--json"])
    assert result.returncode == 0, result.stderr
    totals = json.loads(result.stdout)
    assert totals == {
        "accepted": len(CORPUS_FILES) - expected_quarantined,
        "quarantined": expected_quarantined,
        "failed": 0,
    }
    assert count(database, QuarantinedInput) == expected_quarantined
    assert count(database, EmailReceipt) == len(CORPUS_FILES)
    messages = count(database, Message)
    assert 0 < count(database, Ticket) <= messages

    # The MTA delivers the same files again (a retry after a lost answer): nothing new is stored.
    again = cli_env(["email", "ingest", *map(str, CORPUS_FILES), "--json"])
    assert json.loads(again.stdout) == totals
    assert count(database, Message) == messages
    assert count(database, QuarantinedInput) == expected_quarantined


def test_a_message_piped_on_stdin_becomes_a_ticket(database, email_env, cli_env):
    raw = (CORPUS / "shift_jis.eml").read_bytes()
    result = cli_env(["email", "ingest", "-"], stdin=raw)
    assert result.returncode == 0, result.stderr
    assert "accepted on ticket" in result.stdout
    with database.transaction(read_only=True) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.subject == "返品希望"
        assert ticket.messages[0].body_text.startswith("商品が壊れていました")


def test_when_the_database_is_down_the_mta_is_told_to_retry(database, email_env, cli_env, tmp_path):
    result = cli_env(
        ["email", "ingest", str(CORPUS / "plain_simple.eml"), str(tmp_path / "missing.eml"), "--json"],
        RELAYDESK_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
    )
    assert result.returncode == 75  # EX_TEMPFAIL: Postfix and Exim keep the mail queued
    assert json.loads(result.stdout.splitlines()[-1]) == {"accepted": 0, "quarantined": 0, "failed": 2}
    assert "missing.eml: cannot read" in result.stderr
    assert count(database, Message) == 0


def test_smtp_server_command_takes_mail_until_stopped(database, email_env):
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relaydesk.cli",
            "email",
            "smtp-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        message = EmailMessage()
        message["From"] = "Rita <rita@example.org>"
        message["To"] = SUPPORT
        message["Subject"] = "Hello from a real MTA"
        message["Message-ID"] = "<standalone-1@example.org>"
        message.set_content("Is this thing on?")
        with smtp:
            assert smtp.send_message(message) == {}
        assert count(database, Ticket) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
