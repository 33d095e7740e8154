"""The built-in SMTP server (aiosmtpd) that receives mail for the support addresses.

Recipients outside ``RELAYDESK_EMAIL_ACCEPTED_RECIPIENTS`` are refused at RCPT time (550), messages
over the size limit at DATA (552). A message is answered 250 only after ``receive_email`` has
committed it (as a ticket message, a note or a quarantined input); if the database cannot take it
the answer is 451, and the sending MTA tries again later. Nothing is accepted and then lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from email.utils import formatdate
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from relaydesk.channels.email.config import EmailConfig, email_config
from relaydesk.channels.email.inbound import SOURCE_SMTP, EmailOutcome, receive_email_committed
from relaydesk.channels.email.inbound import Envelope as MailEnvelope
from relaydesk.settings import get_settings

__all__ = ["RelaydeskSMTPHandler", "start_smtp_server"]

log = logging.getLogger("relaydesk.email.smtp")


class _LenientSMTP(SMTP):
    # RFC 5321 caps lines at 1,000 bytes, but real senders exceed it; the message size limit
    # (data_size_limit) is what bounds memory, so long lines are taken rather than refused.
    line_length_limit = 1024 * 1024


class RelaydeskSMTPHandler:
    """aiosmtpd handler: recipient policy at RCPT, commit-then-acknowledge at DATA."""

    def __init__(self, config: EmailConfig | None = None) -> None:
        self.config = config or email_config()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.config.accepts(address):
            return f"550 5.1.1 <{address}>: no such support mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _commit(self, raw: bytes, envelope: MailEnvelope) -> EmailOutcome:
        return receive_email_committed(raw, source=SOURCE_SMTP, envelope=envelope, config=self.config)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        mail_from = (envelope.mail_from or "").strip().strip("<>")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        # What a final-delivery MTA adds: the envelope sender and where the message came from.
        trace = (
            f"Return-Path: <{mail_from}>\r\n"
            f"Received: from {session.host_name or 'unknown'} ([{peer}]) by relaydesk with ESMTP;"
            f" {formatdate(usegmt=True)}\r\n"
        ).encode("utf-8", "replace")
        mail_envelope = MailEnvelope(mail_from=mail_from, recipients=tuple(envelope.rcpt_tos))
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(
                None, self._commit, trace + raw, mail_envelope
            )
        except Exception:
            log.exception("could not store a message from <%s>; asked the sender to retry", mail_from)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        # No ticket number in the answer: a sender replaying someone else's Message-ID learns nothing.
        log.info("message from <%s>: %s", mail_from, outcome.outcome.value)
        return "250 2.0.0 OK: stored"


class _Controller(Controller):
    def __init__(self, handler: RelaydeskSMTPHandler, hostname: str, port: int, **kwargs: Any) -> None:
        super().__init__(handler, hostname=hostname, port=port, **kwargs)

    def factory(self) -> SMTP:
        return _LenientSMTP(self.handler, **self.SMTP_kwargs)


def start_smtp_server(host: str | None = None, port: int | None = None) -> Controller:
    """Start the server in a background thread; ``.stop()`` on the result shuts it down."""
    settings = get_settings()
    config = email_config(settings)
    if not config.accepted_recipients:
        raise ValueError(
            "The SMTP server accepts no recipients: set RELAYDESK_EMAIL_SUPPORT_ADDRESS "
            "(or RELAYDESK_EMAIL_ACCEPTED_RECIPIENTS)."
        )
    controller = _Controller(
        RelaydeskSMTPHandler(config),
        hostname=host or settings.email_smtp_server_host,
        port=port if port is not None else settings.email_smtp_server_port,
        data_size_limit=config.max_message_bytes,
        server_hostname=socket.gethostname(),
        ident="Relaydesk ESMTP",
    )
    controller.start()
    log.info("SMTP server listening on %s:%s", controller.hostname, controller.port)
    return controller
