"""Raw email bytes in, one outcome out: the single path shared by SMTP, IMAP and piped mail.

``email_to_inbound`` turns raw bytes into an ``InboundMessage`` (or says why it cannot: unparseable,
or automatic mail). ``receive_email`` runs it inside the caller's transaction and records what became
of the message, so the transport acknowledges (SMTP 250, IMAP \\Seen, exit 0) only after a commit:

- a customer's message goes through ``channels.intake.ingest`` (threaded by a verified reply token
  into that customer's own ticket, or, when a trusted MTA authenticated the From, their open ticket,
  else a new one), with the raw message kept
  as the attachment ``original-message.eml``;
- automatic mail (auto-replies, bounces, bulk and list mail, loops) never opens a ticket and is never
  answered: with a verified token it becomes an internal note on that ticket, otherwise it is
  quarantined with the reason;
- anything unparseable, and any unexpected failure while storing, is quarantined whole.

Every outcome leaves an ``EmailReceipt`` keyed by Message-ID, so a re-delivery of the same message
(an MTA retry after a lost 250, an IMAP re-fetch) is recognised and does nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from email import policy
from email.parser import BytesParser
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundAttachment, InboundMessage
from relaydesk.channels.email.authresults import from_address_authenticated
from relaydesk.channels.email.config import EmailConfig, email_config
from relaydesk.channels.email.errors import REJECT_NO_SENDER, EmailRejected
from relaydesk.channels.email.model import EmailAddress, ParsedEmail
from relaydesk.channels.email.models import EmailReceipt, ReceiptOutcome
from relaydesk.channels.email.parse import parse_email
from relaydesk.channels.email.tokens import extract_ticket_id
from relaydesk.channels.intake import in_intake_transaction, ingest, is_transient_conflict
from relaydesk.channels.quarantine import InputRejectedError, quarantine, register_reprocessor
from relaydesk.customers.enums import IdentityKind
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, TicketStatus
from relaydesk.tickets.schemas import MessageCreate

__all__ = [
    "RAW_FILENAME",
    "SOURCE_CLI",
    "SOURCE_IMAP",
    "SOURCE_SMTP",
    "AutomaticMailError",
    "EmailOutcome",
    "Envelope",
    "email_to_inbound",
    "receive_email",
    "receive_email_committed",
]

log = logging.getLogger("relaydesk.email")

SOURCE_SMTP = "email:smtp"
SOURCE_IMAP = "email:imap"
SOURCE_CLI = "email:cli"
RAW_FILENAME = "original-message.eml"
REJECT_INTAKE_ERROR = "intake_error"
REJECT_LOOP = "loop"
_MAX_ID = 500  # messages.provider_message_id and email_receipts.receipt_key are String(500)
_MAX_REFERENCES = 20
_HEADER_ATTACHMENTS = {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}
_TRUNCATED = "\n\n[… shortened; the whole message is attached as original-message.eml]"


@dataclass(frozen=True)
class Envelope:
    """What the transport knows beyond the message itself."""

    # SMTP MAIL FROM: "" is the null sender (bounces, RFC 3834 responders); None: not known (IMAP, pipe).
    mail_from: str | None = None
    recipients: tuple[str, ...] = ()

    def as_meta(self) -> dict[str, Any]:
        return {"envelope_from": self.mail_from, "envelope_to": list(self.recipients)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Envelope:
        mail_from = meta.get("envelope_from")
        return cls(
            mail_from=str(mail_from) if mail_from is not None else None,
            recipients=tuple(str(r) for r in meta.get("envelope_to") or ()),
        )


class AutomaticMailError(EmailRejected):
    """Machine-sent mail: never a ticket, never answered; a note on a ticket its signed token proves."""

    def __init__(self, reason_code: str, message: str, parsed: ParsedEmail, ticket_id: int | None) -> None:
        super().__init__(reason_code, message)
        self.parsed = parsed
        self.ticket_id = ticket_id


@dataclass(frozen=True)
class EmailOutcome:
    outcome: ReceiptOutcome
    ticket_id: int | None = None
    message_id: int | None = None
    quarantine_id: int | None = None
    reason_code: str | None = None
    created_ticket: bool = False
    # A re-delivery of a message already handled: nothing new was written.
    duplicate: bool = False

    @property
    def counts_as(self) -> Literal["accepted", "quarantined"]:
        return "quarantined" if self.outcome is ReceiptOutcome.QUARANTINED else "accepted"


def _bounded_id(message_id: str) -> str:
    if len(message_id) <= _MAX_ID:
        return message_id
    return f"sha256:{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _raw_key(raw: bytes) -> str:
    return f"raw-sha256:{hashlib.sha256(raw).hexdigest()}"


def _attached_thread_ids(parsed: ParsedEmail) -> list[str]:
    """Message-IDs inside a bounce's or auto-reply's copy of our message (where the token is)."""
    found: list[str] = []
    for attachment in parsed.attachments:
        if attachment.content_type not in _HEADER_ATTACHMENTS:
            continue
        try:
            headers = BytesParser(policy=policy.compat32).parsebytes(attachment.payload, headersonly=True)
            for name in ("message-id", "in-reply-to", "references"):
                for value in headers.get_all(name) or []:
                    found.extend(f"<{part.strip('<>')}>" for part in str(value).split() if "@" in part)
        except Exception:  # a hostile attachment must not stop the outer message
            continue
    return found


def _ticket_from_tokens(
    parsed: ParsedEmail, envelope: Envelope, config: EmailConfig, *, look_inside: bool
) -> int | None:
    """A ticket id proven by a validly signed token on the support domain, else None."""
    if not config.support_domain:
        return None
    found = extract_ticket_id(parsed, config.secret, config.support_domain)
    if found is not None:
        return found
    extra_to = tuple(EmailAddress(name="", address=r.strip("<>").lower()) for r in envelope.recipients)
    extra_ids = _attached_thread_ids(parsed) if look_inside else []
    if not extra_to and not extra_ids:
        return None
    widened = replace(parsed, to=extra_to, cc=(), in_reply_to=None, references=tuple(extra_ids))
    return extract_ticket_id(widened, config.secret, config.support_domain)


def _automatic_kind(parsed: ParsedEmail, envelope: Envelope, config: EmailConfig) -> tuple[str, str] | None:
    if parsed.auto_submitted is not None:
        return parsed.auto_submitted, parsed.auto_submitted_reason or parsed.auto_submitted
    if envelope.mail_from == "":
        return "auto_reply", "null envelope sender (MAIL FROM:<>)"
    if config.is_own_address(parsed.from_address):
        return REJECT_LOOP, f"sent from the support address {parsed.from_address}"
    return None


def _email_meta(parsed: ParsedEmail, envelope: Envelope, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "email": {
            "message_id": parsed.message_id,
            "message_id_generated": parsed.message_id_generated,
            "in_reply_to": parsed.in_reply_to,
            "references": list(parsed.references[-_MAX_REFERENCES:]),
            "subject": parsed.subject[:500],
            "to": [mailbox.address for mailbox in parsed.to][:50],
            "cc": [mailbox.address for mailbox in parsed.cc][:50],
            "reply_to": [mailbox.address for mailbox in parsed.reply_to][:10],
            "date": parsed.date.isoformat() if parsed.date else None,
            "raw_size": parsed.raw_size,
            "raw_attachment": RAW_FILENAME,
            "quoted_text_removed": parsed.text != parsed.full_text,
            **envelope.as_meta(),
        },
    }


def email_to_inbound(
    raw: bytes,
    *,
    source: str,
    envelope: Envelope = Envelope(),
    config: EmailConfig | None = None,
    accept_bulk: bool = False,
) -> InboundMessage:
    """The customer message in ``raw``; raises EmailRejected (unparseable) or AutomaticMailError.

    ``accept_bulk`` lets an admin's reprocess turn bulk or list mail (a web form that marks itself
    "Precedence: bulk") into a ticket; auto-replies, bounces and loops are refused regardless.
    """
    config = config or email_config()
    parsed = parse_email(raw, limits=config.limits)
    automatic = _automatic_kind(parsed, envelope, config)
    if automatic is not None and not (accept_bulk and automatic[0] in {"bulk", "list"}):
        kind, reason = automatic
        ticket_id = _ticket_from_tokens(parsed, envelope, config, look_inside=True)
        raise AutomaticMailError(kind, f"automatic mail ({reason})", parsed, ticket_id)
    if len(parsed.from_address) > 320:
        raise EmailRejected(REJECT_NO_SENDER, "the sender address is longer than 320 characters")

    text = parsed.text.strip() or parsed.full_text.strip()
    if len(text) > config.max_text_chars:
        text = text[: config.max_text_chars - len(_TRUNCATED)] + _TRUNCATED
    meta = _email_meta(parsed, envelope, source)
    attachments = [
        InboundAttachment(attachment.filename, attachment.content_type, attachment.payload)
        for attachment in parsed.attachments
        if attachment.payload  # an empty file cannot be stored; its name stays in the meta
    ]
    empty = [attachment.filename for attachment in parsed.attachments if not attachment.payload]
    if empty:
        meta["email"]["empty_attachments"] = empty[:50]
    # The issue asks to keep the raw message: it rides along as an attachment (content-addressed,
    # size-limited like every upload), so agents can open it and reprocessing never needs it twice.
    attachments.append(InboundAttachment(RAW_FILENAME, "message/rfc822", raw))
    return InboundMessage(
        channel=Channel.EMAIL,
        identity_kind=IdentityKind.EMAIL,
        identity_value=parsed.from_address,
        # A From header is whatever the sender typed: never proof of identity on its own. It is proven
        # only when a trusted receiving MTA authenticated it; a valid reply token proves its one
        # ticket (``ticket_id``) without proving the address, so it never widens to other tickets.
        identity_verified=False,
        identity_proven=from_address_authenticated(
            parsed.authentication_results, parsed.from_address, config.trusted_authserv_ids
        ),
        display_name=parsed.from_name[:200],
        text=text,
        provider_message_id=_bounded_id(parsed.message_id),
        subject=parsed.subject[:500],
        html=parsed.html,
        attachments=tuple(attachments),
        ticket_id=_ticket_from_tokens(parsed, envelope, config, look_inside=False),
        received_at=parsed.date,
        meta=meta,
    )


def _receipt(session: Session, key: str) -> EmailReceipt | None:
    return session.scalar(select(EmailReceipt).where(EmailReceipt.receipt_key == key))


def _from_receipt(receipt: EmailReceipt) -> EmailOutcome:
    return EmailOutcome(
        outcome=receipt.outcome,
        ticket_id=receipt.ticket_id,
        message_id=receipt.message_id,
        quarantine_id=receipt.quarantine_id,
        duplicate=True,
    )


def _record(session: Session, key: str, source: str, outcome: EmailOutcome) -> EmailOutcome:
    session.add(
        EmailReceipt(
            receipt_key=key,
            outcome=outcome.outcome,
            source=source,
            ticket_id=outcome.ticket_id,
            message_id=outcome.message_id,
            quarantine_id=outcome.quarantine_id,
        )
    )
    session.flush()
    return outcome


def _hold(
    session: Session, raw: bytes, *, source: str, envelope: Envelope, code: str, reason: str
) -> EmailOutcome:
    item = quarantine(
        session,
        channel=Channel.EMAIL.value,
        source=source,
        reason_code=code,
        reason=reason[:2000],
        raw=raw,
        meta=envelope.as_meta(),
    )
    return EmailOutcome(ReceiptOutcome.QUARANTINED, quarantine_id=item.id, reason_code=code)


def _note_on_ticket(
    session: Session, raw: bytes, automatic: AutomaticMailError, source: str
) -> EmailOutcome | None:
    """Record automatic mail on the ticket its verified token names; None when there is none."""
    if automatic.ticket_id is None:
        return None
    ticket = tickets.get_ticket(session, automatic.ticket_id)
    if ticket is None or ticket.status is TicketStatus.CLOSED:
        return None
    parsed = automatic.parsed
    kind = automatic.reason_code.replace("_", " ")
    body = (
        f"Automatic email received ({kind}; {automatic.message}) from {parsed.from_address}."
        f"\nSubject: {parsed.subject[:300]}\n\n{(parsed.text or parsed.full_text)[:4000]}"
    ).strip()
    note = tickets.add_agent_message(session, ticket, MessageCreate(body=body, public=False), None)
    tickets.update_message_meta(
        session,
        note,
        {
            "automatic_email": automatic.reason_code,
            "email": {"message_id": parsed.message_id, "from": parsed.from_address, "source": source},
        },
    )
    tickets.attach_file(session, note, filename=RAW_FILENAME, content_type="message/rfc822", payload=raw)
    return EmailOutcome(ReceiptOutcome.NOTE, ticket_id=ticket.id, message_id=note.id)


def _receive(
    session: Session, raw: bytes, source: str, envelope: Envelope, config: EmailConfig
) -> EmailOutcome:
    try:
        inbound = email_to_inbound(raw, source=source, envelope=envelope, config=config)
    except AutomaticMailError as automatic:
        key = _bounded_id(automatic.parsed.message_id)
        seen = _receipt(session, key)
        if seen is not None:
            return _from_receipt(seen)
        outcome = _note_on_ticket(session, raw, automatic, source) or _hold(
            session,
            raw,
            source=source,
            envelope=envelope,
            code=automatic.reason_code,
            reason=automatic.message,
        )
        return _record(session, key, source, outcome)
    except EmailRejected as rejected:
        key = _raw_key(raw)
        seen = _receipt(session, key)
        if seen is not None:
            return _from_receipt(seen)
        outcome = _hold(
            session, raw, source=source, envelope=envelope, code=rejected.reason_code, reason=rejected.message
        )
        return _record(session, key, source, outcome)

    key = inbound.provider_message_id or _raw_key(raw)
    seen = _receipt(session, key)
    if seen is not None:
        return _from_receipt(seen)
    result = ingest(session, inbound)
    outcome = EmailOutcome(
        ReceiptOutcome.ACCEPTED,
        ticket_id=result.ticket_id,
        message_id=result.message_id,
        created_ticket=result.created_ticket,
        duplicate=result.duplicate,
    )
    return _record(session, key, source, outcome)


def _lost_connection(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def receive_email(
    session: Session,
    raw: bytes,
    *,
    source: str,
    envelope: Envelope = Envelope(),
    config: EmailConfig | None = None,
) -> EmailOutcome:
    """Store one raw message in the caller's transaction; always an outcome unless the database fails.

    Each try runs in a savepoint, so a failure half-way leaves nothing behind before the fallback
    quarantines the raw bytes with the error as the reason. A conflict with a concurrent transaction
    (a deadlock, a serialization failure, a stale row) is not the message's fault: it is raised, for
    the caller's ``in_intake_transaction`` to run the whole transaction again.
    """
    config = config or email_config()
    failure: Exception | None = None
    for attempt in range(2):
        try:
            with session.begin_nested():
                return _receive(session, raw, source, envelope, config)
        except IntegrityError as error:
            # A concurrent delivery of the same message won the race; the second look finds it.
            failure = error
            if attempt == 0:
                continue
        except Exception as error:
            if _lost_connection(error) or is_transient_conflict(error):
                raise
            failure = error
        break
    assert failure is not None
    log.exception("email from %s could not be stored; quarantined", source, exc_info=failure)
    with session.begin_nested():
        outcome = _hold(
            session,
            raw,
            source=source,
            envelope=envelope,
            code=REJECT_INTAKE_ERROR,
            reason=f"{type(failure).__name__}: {failure}",
        )
        # No receipt: a later re-delivery should be tried again with (perhaps fixed) code.
        return outcome


def receive_email_committed(
    raw: bytes, *, source: str, envelope: Envelope = Envelope(), config: EmailConfig | None = None
) -> EmailOutcome:
    """``receive_email`` in a transaction of its own, committed before it returns (what a transport
    acknowledges after) and run again from the start on a conflict with a concurrent transaction."""
    return in_intake_transaction(
        lambda session: receive_email(session, raw, source=source, envelope=envelope, config=config)
    )


def _reprocessor(source: str) -> Callable[[bytes, dict[str, Any]], list[InboundMessage]]:
    """Quarantine's "reprocess": the same parsing with today's code, bulk and list mail let through."""

    def reprocess(raw: bytes, meta: dict[str, Any]) -> list[InboundMessage]:
        try:
            return [email_to_inbound(raw, source=source, envelope=Envelope.from_meta(meta), accept_bulk=True)]
        except EmailRejected as rejected:
            raise InputRejectedError(rejected.reason_code, rejected.message) from None

    return reprocess


for _source in (SOURCE_SMTP, SOURCE_IMAP, SOURCE_CLI):
    register_reprocessor(_source)(_reprocessor(_source))
