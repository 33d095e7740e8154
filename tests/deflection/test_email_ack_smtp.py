"""The email acknowledgement leaves through the real outbox and SMTP sender, to a local smarthost."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets.enums import Channel
from tests.factories import run_jobs


class Smarthost:
    """Stands in for the organisation's outgoing mail server: keeps what it is handed."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued"


@pytest.fixture
def smarthost(setting):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = Smarthost()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    setting("email_support_address", "Acme Support <support@acme.test>")
    setting("email_smtp_host", "127.0.0.1")
    setting("email_smtp_port", str(port))
    setting("email_smtp_security", "none")
    yield handler
    controller.stop()


def test_new_email_ticket_gets_an_acknowledgement_email_with_articles(database, articles, smarthost):
    with database.transaction() as session:
        result = ingest(
            session,
            InboundMessage(
                channel=Channel.EMAIL,
                identity_kind=IdentityKind.EMAIL,
                identity_value="ann@example.com",
                subject="Cannot sign in",
                text="I forgot my password and cannot sign in.",
                provider_message_id="<abc@example.com>",
            ),
        )
    run_jobs(database)
    run_jobs(database)  # the delivery job is enqueued by the acknowledgement
    assert len(smarthost.received) == 1
    recipients, raw = smarthost.received[0]
    assert recipients == ["ann@example.com"]
    mail = message_from_bytes(raw, policy=policy.default)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"ticket #{result.ticket_id}" in body
    assert "Reset your password" in body and "/help/feedback/" in body
