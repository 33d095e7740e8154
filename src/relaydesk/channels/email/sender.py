"""Outbound email: the outbox's sender for ``Channel.EMAIL``, over SMTP to the configured smarthost.

Each reply is built by ``build_reply`` with a Message-ID that is the same on every try
(``tokens.outbound_message_id``), In-Reply-To/References pointing at the customer's last email on
the ticket, and a Reply-To plus-address carrying the signed token. The envelope sender is that same
plus-address, so bounces come back to the built-in server already tied to their ticket.

Delivery guarantees: the outbox job (``channels.deliver_message``) retries with backoff while the
smarthost is unreachable or answers 4xx, and fails at once on a 5xx refusal (retrying cannot help).
A send whose job then fails to commit is sent again on the retry; because the bytes carry the same
Message-ID, the customer's mail system and client recognise it as the same message.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any

from relaydesk.channels.base import ChannelNotConfiguredError, OutboundMessage, SendError
from relaydesk.channels.email.config import EmailConfig, email_config
from relaydesk.channels.email.outbound import build_reply
from relaydesk.channels.email.tokens import make_reply_token, outbound_message_id
from relaydesk.db import get_database
from relaydesk.settings import MailSecurity, Settings, get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel

__all__ = ["EmailRefusedError", "build_outbound", "send_email"]


class EmailRefusedError(ChannelNotConfiguredError):
    """The mail server refused the message for good (5xx): the reply is marked failed at once."""


@dataclass(frozen=True)
class _Context:
    in_reply_to: str | None
    references: list[str]
    # Written by the bot or the system (an acknowledgement, a question for missing details), not
    # by a person: marked Auto-Submitted so the customer's own auto-responder does not answer it.
    automatic: bool


def _context(ticket_id: int, message_id: int) -> _Context:
    """Threading for a reply (the customer's last email on the ticket) and who wrote it."""
    # Its own read-only unit of work: the sender protocol carries ids, not a session, and reading
    # committed rows beside the job's transaction is safe on both databases (WAL on SQLite).
    with get_database().transaction(read_only=True) as session:
        last = tickets.latest_inbound_message(session, ticket_id, Channel.EMAIL)
        email_meta: dict[str, Any] = dict((last.meta or {}).get("email") or {}) if last is not None else {}
        outbound = tickets.get_message(session, message_id)
        automatic = outbound is not None and (
            outbound.author_kind in (AuthorKind.BOT, AuthorKind.SYSTEM)
            or bool((outbound.meta or {}).get("auto_acknowledgement"))
        )
    last_id = email_meta.get("message_id")
    if not isinstance(last_id, str) or email_meta.get("message_id_generated"):
        # A Message-ID we generated for a message that had none means nothing to the customer.
        return _Context(None, [], automatic)
    references = [str(ref) for ref in email_meta.get("references") or [] if isinstance(ref, str)]
    return _Context(last_id, references, automatic)


def build_outbound(message: OutboundMessage, config: EmailConfig) -> tuple[Any, str]:
    """The MIME reply for one outbox message and its envelope sender."""
    context = _context(message.ticket_id, message.message_id)
    mime = build_reply(
        ticket_id=message.ticket_id,
        secret=config.secret,
        support_address=config.formatted_support_address,
        support_domain=config.support_domain,
        to=message.recipient,
        subject=message.subject,
        text=message.text,
        html=_html_with_status_link(message.text, message.status_url) if message.status_url else None,
        in_reply_to=context.in_reply_to,
        references=context.references,
        auto_acknowledgement=context.automatic,
        message_id=outbound_message_id(
            message.ticket_id, message.message_id, config.secret, config.support_domain
        ),
    )
    local = config.support_address.rsplit("@", 1)[0].split("+", 1)[0]
    token = make_reply_token(message.ticket_id, config.secret)
    return mime, f"{local}+{token}@{config.support_domain}"


def _html_with_status_link(text: str, url: str) -> str:
    """The reply as simple HTML, its status-page link clickable (mail clients show this part)."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    escaped = html.escape(url)
    return body.replace(escaped, f'<a href="{escaped}">{escaped}</a>')


def _connect(settings: Settings) -> smtplib.SMTP:
    host, port = settings.email_smtp_host or "", settings.email_smtp_port
    timeout = settings.email_smtp_timeout_seconds
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.email_smtp_security is MailSecurity.SSL:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if settings.email_smtp_security is MailSecurity.STARTTLS:
            smtp.starttls(context=context)
    if settings.email_smtp_user:
        password = settings.email_smtp_password.get_secret_value() if settings.email_smtp_password else ""
        smtp.login(settings.email_smtp_user, password)
    return smtp


def _refusal(code: int, text: bytes | str, what: str) -> SendError:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"The mail server refused {what}: {code} {detail}".strip()
    # 5xx is final (unknown mailbox, policy); 4xx (greylisting, full queue) is worth another try.
    return EmailRefusedError(message) if 500 <= code < 600 else SendError(message)


def send_email(message: OutboundMessage) -> str | None:
    """Send one reply; returns its Message-ID (stored on the delivery row)."""
    settings = get_settings()
    config = email_config(settings)
    if not settings.email_smtp_host or not config.support_address or not config.support_domain:
        raise ChannelNotConfiguredError(
            "Email is not configured (RELAYDESK_EMAIL_SMTP_HOST and RELAYDESK_EMAIL_SUPPORT_ADDRESS)."
        )
    try:
        mime, envelope_from = build_outbound(message, config)
    except ValueError as exc:  # an unusable recipient address
        raise EmailRefusedError(f"Cannot build the email: {exc}") from exc
    try:
        smtp = _connect(settings)
    except smtplib.SMTPNotSupportedError as exc:
        raise ChannelNotConfiguredError(f"The mail server does not offer STARTTLS: {exc}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        # Wrong credentials are fixed by an admin; keep retrying with backoff meanwhile.
        raise SendError(f"The mail server refused the login: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(
            f"Mail server {settings.email_smtp_host}:{settings.email_smtp_port} unreachable: {exc}"
        ) from exc
    try:
        smtp.send_message(mime, from_addr=envelope_from, to_addrs=[message.recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _refusal(code, text, f"the recipient {message.recipient}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _refusal(exc.smtp_code, exc.smtp_error, "the message") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"Sending to the mail server failed: {exc}") from exc
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return str(mime["Message-ID"])
