"""receive_email: the one path from raw bytes to a ticket message, a note or a quarantined input."""

from __future__ import annotations

import pytest

from relaydesk.channels import quarantine as quarantine_service
from relaydesk.channels.email.inbound import SOURCE_CLI, SOURCE_SMTP, Envelope, receive_email
from relaydesk.channels.email.models import EmailReceipt, ReceiptOutcome
from relaydesk.channels.email.tokens import make_reply_token, outbound_message_id
from relaydesk.channels.models import QuarantinedInput
from relaydesk.settings import get_settings
from relaydesk.tickets.models import Message, Ticket
from tests.channels.email.conftest import CORPUS, SUPPORT, SUPPORT_DOMAIN, build_email
from tests.factories import count


def mail(
    sender: str = "ann@example.com",
    subject: str = "Cannot log in",
    body: str = "I cannot log in since yesterday.",
    message_id: str = "<ann-1@example.com>",
    to: str = SUPPORT,
    **headers: str,
) -> bytes:
    return build_email(
        sender=sender, subject=subject, body=body, message_id=message_id, to=to, **headers
    ).as_bytes()


def receive(database, raw: bytes, envelope: Envelope = Envelope(), source: str = SOURCE_CLI):
    with database.transaction() as session:
        return receive_email(session, raw, source=source, envelope=envelope)


def test_customer_mail_opens_a_ticket_and_keeps_the_raw_message(database, email_env):
    raw = mail()
    outcome = receive(database, raw)
    assert outcome.outcome is ReceiptOutcome.ACCEPTED and outcome.created_ticket
    with database.transaction() as session:
        ticket = session.get(Ticket, outcome.ticket_id)
        [message] = ticket.messages
        assert ticket.channel == "email" and ticket.subject == "Cannot log in"
        assert message.body_text == "I cannot log in since yesterday."
        assert message.provider_message_id == "<ann-1@example.com>"
        assert message.meta["from"] == "ann@example.com"
        assert message.meta["email"]["message_id"] == "<ann-1@example.com>"
        [original] = message.attachments
        assert original.filename == "original-message.eml" and original.content_type == "message/rfc822"
        assert original.size == len(raw)


def test_the_same_message_delivered_twice_is_stored_once(database, email_env):
    first = receive(database, mail())
    again = receive(database, mail())
    assert again.duplicate and again.ticket_id == first.ticket_id and again.message_id == first.message_id
    assert count(database, Message) == 1
    assert count(database, EmailReceipt) == 1


def test_reply_with_a_valid_token_threads_into_the_customers_ticket(database, email_env):
    first = receive(database, mail())
    token = make_reply_token(first.ticket_id, get_settings().secret)
    # A new subject and no open-ticket fallback in play: the token alone picks the ticket.
    reply = mail(
        subject="Different subject",
        message_id="<ann-2@example.com>",
        to=f"support+{token}@{SUPPORT_DOMAIN}",
    )
    outcome = receive(database, reply)
    assert outcome.ticket_id == first.ticket_id and not outcome.created_ticket


def test_forged_in_reply_to_never_attaches_mail_to_another_customers_ticket(database, email_env):
    victim = receive(database, mail())
    secret = get_settings().secret
    forged = [
        # A token signed with another key.
        outbound_message_id(victim.ticket_id, 1, b"someone-elses-key-0123456789abcdef", SUPPORT_DOMAIN),
        # The unsigned Message-ID of the victim's own message.
        "<ann-1@example.com>",
        # A genuine token of the victim's ticket (say the victim forwarded our reply).
        outbound_message_id(victim.ticket_id, 1, secret, SUPPORT_DOMAIN),
    ]
    for number, in_reply_to in enumerate(forged):
        outcome = receive(
            database,
            mail(
                sender="mallory@evil.example",
                message_id=f"<mallory-{number}@evil.example>",
                In_Reply_To=in_reply_to,
                References=in_reply_to,
            ),
        )
        assert outcome.ticket_id != victim.ticket_id, in_reply_to
    with database.transaction() as session:
        victim_ticket = session.get(Ticket, victim.ticket_id)
        assert [m.meta["from"] for m in victim_ticket.messages] == ["ann@example.com"]


def test_auto_reply_without_a_token_is_quarantined_not_a_ticket(database, email_env):
    raw = (CORPUS / "vacation_autoreply.eml").read_bytes()
    outcome = receive(database, raw)
    assert outcome.outcome is ReceiptOutcome.QUARANTINED and outcome.reason_code == "auto_reply"
    assert count(database, Ticket) == 0
    with database.transaction() as session:
        held = session.get(QuarantinedInput, outcome.quarantine_id)
        assert held.raw == raw and held.channel == "email" and held.source == SOURCE_CLI
    # Reprocessing cannot turn an auto-reply into a ticket either.
    with pytest.raises(Exception, match="Still rejected"), database.transaction() as session:
        quarantine_service.reprocess(session, outcome.quarantine_id)


def test_auto_reply_with_a_verified_token_becomes_an_internal_note(database, email_env):
    first = receive(database, mail())
    our_id = outbound_message_id(first.ticket_id, 7, get_settings().secret, SUPPORT_DOMAIN)
    auto = mail(
        subject="Out of office: Re: Cannot log in",
        body="I am away until Monday.",
        message_id="<ooo-1@example.com>",
        In_Reply_To=our_id,
        Auto_Submitted="auto-replied",
    )
    outcome = receive(database, auto)
    assert outcome.outcome is ReceiptOutcome.NOTE and outcome.ticket_id == first.ticket_id
    with database.transaction() as session:
        note = session.get(Message, outcome.message_id)
        assert not note.public and note.channel == "internal" and note.author_kind == "system"
        assert "auto reply" in note.body_text and "I am away until Monday." in note.body_text
        assert note.delivery_state == "not_sent"  # never answered
    assert count(database, Ticket) == 1
    assert receive(database, auto).duplicate  # a re-delivery adds no second note
    assert count(database, Message, Message.public.is_(False)) == 1


def test_bounce_finds_its_ticket_through_the_returned_copy_of_our_message(database, email_env):
    first = receive(database, mail())
    our_id = outbound_message_id(first.ticket_id, 3, get_settings().secret, SUPPORT_DOMAIN)
    raw = (CORPUS / "exchange_ndr_bounce.eml").read_bytes()
    raw = raw.replace(b"support+r1a-aaaaaaaaaaaaaaaa@acme.test", SUPPORT.encode())
    raw = raw.replace(b"<r1a-aaaaaaaaaaaaaaaa.m2s@acme.test>", our_id.encode())
    outcome = receive(database, raw)
    assert outcome.outcome is ReceiptOutcome.NOTE and outcome.ticket_id == first.ticket_id


def test_bounce_to_a_signed_envelope_address_finds_its_ticket(database, email_env):
    first = receive(database, mail())
    token = make_reply_token(first.ticket_id, get_settings().secret)
    raw = (CORPUS / "postfix_bounce_headers_only.eml").read_bytes()
    outcome = receive(
        database, raw, Envelope(mail_from="", recipients=(f"support+{token}@{SUPPORT_DOMAIN}",)), SOURCE_SMTP
    )
    assert outcome.outcome is ReceiptOutcome.NOTE and outcome.ticket_id == first.ticket_id


def test_bounce_with_an_unverifiable_token_stays_in_quarantine(database, email_env):
    outcome = receive(database, (CORPUS / "postfix_bounce_headers_only.eml").read_bytes())
    assert outcome.outcome is ReceiptOutcome.QUARANTINED and outcome.reason_code == "bounce"
    assert count(database, Ticket) == 0


def test_null_envelope_sender_is_automatic_mail(database, email_env):
    outcome = receive(database, mail(), Envelope(mail_from="", recipients=(SUPPORT,)), SOURCE_SMTP)
    assert outcome.outcome is ReceiptOutcome.QUARANTINED and outcome.reason_code == "auto_reply"


def test_mail_from_the_support_address_itself_is_a_loop(database, email_env):
    outcome = receive(database, mail(sender=f"Acme Support <{SUPPORT}>"))
    assert outcome.outcome is ReceiptOutcome.QUARANTINED and outcome.reason_code == "loop"


def test_bulk_mail_is_held_and_an_admin_can_let_it_through(database, email_env):
    outcome = receive(database, (CORPUS / "precedence_bulk.eml").read_bytes())
    assert outcome.reason_code == "bulk" and count(database, Ticket) == 0
    with database.transaction() as session:
        [result] = quarantine_service.reprocess(session, outcome.quarantine_id)
        assert result.created_ticket
    assert count(database, Ticket) == 1


def test_unparseable_mail_is_quarantined_with_the_reason(database, email_env):
    raw = (CORPUS / "missing_from.eml").read_bytes()
    outcome = receive(database, raw)
    assert outcome.reason_code == "no_sender"
    again = receive(database, raw)
    assert again.duplicate and again.quarantine_id == outcome.quarantine_id
    assert count(database, QuarantinedInput) == 1


def test_oversize_mail_is_quarantined_whole(database, email_env):
    email_env(email_max_message_bytes=2_000)
    raw = mail(body="x" * 5_000)
    outcome = receive(database, raw)
    assert outcome.reason_code == "too_large"
    with database.transaction() as session:
        assert session.get(QuarantinedInput, outcome.quarantine_id).raw == raw


def test_very_long_text_is_shortened_but_the_original_is_kept(database, email_env, monkeypatch):
    email_env(max_message_chars=1_000)
    raw = mail(body="word " * 2_000)
    outcome = receive(database, raw)
    with database.transaction() as session:
        message = session.get(Message, outcome.message_id)
        assert len(message.body_text) <= 1_000 and message.body_text.endswith("original-message.eml]")
        assert message.attachments[0].size == len(raw)


def test_empty_attachments_are_named_not_stored(database, email_env):
    outcome = receive(database, (CORPUS / "rfc2231_filename_and_empty_attachment.eml").read_bytes())
    with database.transaction() as session:
        message = session.get(Message, outcome.message_id)
        assert sorted(a.filename for a in message.attachments) == [
            "Rechnung Müller März.pdf",
            "original-message.eml",
        ]
        assert message.meta["email"]["empty_attachments"] == ["leer.jpg"]


def test_mail_without_a_token_from_a_known_address_opens_a_new_ticket(database, email_env):
    # Anyone can put ann@example.com in From: without a token (or an authenticated From) it must not
    # join, reveal or reopen Ann's conversation.
    first = receive(database, mail())
    again = receive(database, mail(subject="Re: Cannot log in", message_id="<ann-2@example.com>"))
    assert again.created_ticket and again.ticket_id != first.ticket_id
    with database.transaction() as session:
        assert len(session.get(Ticket, first.ticket_id).messages) == 1
        # The same customer record holds both: an agent sees and can merge them.
        assert (
            session.get(Ticket, again.ticket_id).customer_id
            == session.get(Ticket, first.ticket_id).customer_id
        )


_PASS = (
    "mx.acme.test; dkim=pass header.d=example.com header.s=s1;"
    " spf=pass smtp.mailfrom=ann@example.com; dmarc=pass header.from=example.com"
)


def test_forged_authentication_results_from_an_untrusted_authserv_id_do_not_thread(database, email_env):
    email_env(email_trusted_authserv_ids='["mx.acme.test"]')
    first = receive(database, mail())
    forged = [
        # Written by the sender under an authserv-id nobody configured.
        {"Authentication_Results": _PASS.replace("mx.acme.test", "mx.evil.example")},
        # A pass for the attacker's own domain, not the From domain.
        {"Authentication_Results": "mx.acme.test; dkim=pass header.d=evil.example; dmarc=fail"},
    ]
    for number, headers in enumerate(forged):
        outcome = receive(database, mail(message_id=f"<forged-{number}@evil.example>", **headers))
        assert outcome.created_ticket and outcome.ticket_id != first.ticket_id, headers
    # Below the receiving MTA's own (failing) result, a forged trusted-looking one counts for nothing.
    raw = b"Authentication-Results: mx.acme.test; dmarc=fail header.from=example.com\r\n" + mail(
        message_id="<forged-under@evil.example>", Authentication_Results=_PASS
    )
    outcome = receive(database, raw)
    assert outcome.created_ticket and outcome.ticket_id != first.ticket_id
    with database.transaction() as session:
        assert len(session.get(Ticket, first.ticket_id).messages) == 1


def test_mail_authenticated_by_a_trusted_mta_joins_the_senders_open_ticket(database, email_env):
    email_env(email_trusted_authserv_ids='["mx.acme.test"]')
    first = receive(database, mail())
    again = receive(database, mail(message_id="<ann-2@example.com>", Authentication_Results=_PASS))
    assert again.ticket_id == first.ticket_id and not again.created_ticket
