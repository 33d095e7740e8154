"""Shared helpers for the email tests: the .eml corpus, email settings, SMTP servers and a private Dovecot.

Nothing here stands in for Relaydesk: the built-in SMTP server, the outbox and the IMAP poller run
for real. Only the outside world is local: an aiosmtpd sink plays the smarthost, and a private
Dovecot (installed by scripts/services, never started as a system service) plays the mailbox.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from relaydesk.channels.email import EmailLimits, ParsedEmail, parse_email
from relaydesk.db import Database
from relaydesk.jobs.models import Job, JobState
from relaydesk.jobs.worker import Worker
from relaydesk.kit.time import utcnow
from relaydesk.settings import reset_settings_cache
from tests.factories import free_port, run_cli, stop_process

CORPUS = Path(__file__).parent / "corpus"
SUPPORT = "support@acme.test"
SUPPORT_DOMAIN = "acme.test"
# The jobs these tests exercise; other domains' follow-ups (triage, deflection) are parked so a
# test measures the email path and not the classifiers.
EMAIL_JOBS = ("channels.deliver_message", "channels.poll_email_mailboxes")


def build_email(
    *, sender: str, subject: str, body: str, message_id: str, to: str = SUPPORT, **headers: str
) -> EmailMessage:
    """A plain customer email, dated now; extra headers by keyword (``In_Reply_To`` -> In-Reply-To)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@pytest.fixture
def parse_corpus() -> Callable[[str], ParsedEmail]:
    """Parse one corpus file by name with default limits."""

    def parse(name: str) -> ParsedEmail:
        return parse_email((CORPUS / name).read_bytes(), limits=EmailLimits())

    return parse


@pytest.fixture
def email_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set RELAYDESK_EMAIL_* variables (support address preset) and refresh the settings."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"RELAYDESK_{name.upper()}", str(value))
        reset_settings_cache()

    apply(
        email_support_address=f"Acme Support <{SUPPORT}>",
        email_accepted_recipients=f'["{SUPPORT}", "@help.acme.test"]',
    )
    return apply


@dataclass
class SinkMessage:
    mail_from: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """A local smarthost that keeps what it receives; ``down()``/``up()`` simulate an outage."""

    port: int
    received: list[SinkMessage] = field(default_factory=list)
    # Recipients answered "550 no such user", like a real smarthost that knows the domain.
    refused: set[str] = field(default_factory=set)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(SinkMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued"

    def up(self) -> None:
        if self._controller is None:
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[SinkMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"the sink received {len(self.received)} message(s), expected {count}")


@pytest.fixture
def smtp_sink(email_env: Callable[..., None]) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.up()
    email_env(
        email_smtp_host="127.0.0.1",
        email_smtp_port=sink.port,
        email_smtp_security="none",
        email_smtp_timeout_seconds=5,
    )
    yield sink
    sink.down()


@pytest.fixture
def smtp_server(database: Database, email_env: Callable[..., None]) -> Iterator[tuple[str, int]]:
    """Relaydesk's own SMTP server, on a free local port, writing to the test database."""
    from relaydesk.channels.email.smtp_server import start_smtp_server

    email_env(email_max_message_bytes=200_000)
    controller = start_smtp_server("127.0.0.1", free_port())
    yield "127.0.0.1", controller.port
    controller.stop()


@pytest.fixture
def cli_env(database: Database) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``relaydesk ARGS`` as a real process against the test database and settings."""

    def run(args: list[str], stdin: bytes | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=env, stdin=stdin, check=False)

    return run


def park_other_jobs(database: Database) -> None:
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.name.not_in(EMAIL_JOBS), Job.state == JobState.QUEUED)
            .values(state=JobState.DONE, finished_at=utcnow())
        )


def run_email_jobs(database: Database) -> None:
    """Run due email jobs to completion with a real worker (other domains' jobs parked first)."""
    park_other_jobs(database)
    worker = Worker(database, schedule_periodic=False)
    while worker.run_once():
        park_other_jobs(database)


# ---------------------------------------------------------------------------------------------
# A private Dovecot: own config, passwd-file users, Maildir, a high port on 127.0.0.1, own log.


@dataclass
class Dovecot:
    host: str
    port: int
    root: Path
    password: str
    _users: Iterator[str]

    def new_mailbox(self, **overrides: Any) -> dict[str, Any]:
        """A fresh, empty account: the JSON for RELAYDESK_EMAIL_IMAP_MAILBOXES."""
        return {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "user": next(self._users),
            "password": self.password,
            **overrides,
        }

    def append(self, mailbox: dict[str, Any], raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        import imaplib

        connection = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            connection.login(mailbox["user"], self.password)
            status, data = connection.append(folder, f"({flags})" if flags else None, None, raw)
            assert status == "OK", data
        finally:
            connection.logout()

    def flags_and_count(self, mailbox: dict[str, Any], folder: str = "INBOX") -> tuple[list[str], int]:
        import imaplib

        connection = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            connection.login(mailbox["user"], self.password)
            status, data = connection.select(f'"{folder}"')
            assert status == "OK", data
            count = int(data[0] or 0)
            flags: list[str] = []
            if count:
                _, fetched = connection.fetch("1:*", "(FLAGS)")
                flags = [item.decode() for item in fetched if isinstance(item, bytes)]
            return flags, count
        finally:
            connection.logout()


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(path, os.X_OK)), None
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = _dovecot_binary()
    if binary is None:
        pytest.fail(
            "Dovecot is not installed: run scripts/services (it installs dovecot-imapd, not started)."
        )
    root = Path(tempfile.mkdtemp(prefix="relaydesk-dovecot-"))
    root.chmod(0o755)  # the mail user must reach its Maildir below
    port = free_port()
    password = "imap-test-password"
    users = [f"mailbox{n}@acme.test" for n in range(1, 201)]
    (root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user in users))
    mail = root / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        # Dovecot never serves mail as root: use the unprivileged users its package creates.
        internal_user, login_user, mail_user = "dovecot", "dovenull", "dovecot"
        os.chown(mail, pwd.getpwnam(mail_user).pw_uid, grp.getgrnam(mail_user).gr_gid)
        mail_group = mail_user
    else:
        internal_user = login_user = mail_user = pwd.getpwuid(os.geteuid()).pw_name
        mail_group = grp.getgrgid(os.getegid()).gr_name
    (root / "dovecot.conf").write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = relaydesk-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {mail_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "stderr.log", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log = (root / "stderr.log").read_text(errors="replace")
            log += (
                (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
            )
            process.kill()
            pytest.fail(f"Dovecot did not start:\n{log[-3000:]}")
        time.sleep(0.1)
    yield Dovecot("127.0.0.1", port, root, password, iter(users))
    stop_process(process)
    shutil.rmtree(root, ignore_errors=True)
