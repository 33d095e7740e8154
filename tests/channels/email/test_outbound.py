"""build_reply produces threaded, signed, well-formed MIME replies."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from relaydesk.channels.email import (
    Attachment,
    EmailLimits,
    build_reply,
    extract_ticket_id,
    parse_email,
    reply_subject,
    verify_reply_token,
)

SECRET = b"outbound-secret-for-tests"


def _reply(**overrides: Any) -> EmailMessage:
    arguments: dict[str, Any] = {
        "ticket_id": 314,
        "secret": SECRET,
        "support_address": "Acme Support <support@acme.test>",
        "support_domain": "acme.test",
        "to": "Ann Customer <ann@example.com>",
        "subject": "Re: RE: Cannot log in",
        "text": "We reset your password.\n",
        "in_reply_to": "<plain-1@example.com>",
        "references": ("<first@example.com>",),
        "now": datetime(2025, 3, 3, 12, 0, tzinfo=UTC),
    }
    arguments.update(overrides)
    message: EmailMessage = build_reply(**arguments)
    return message


def test_reply_carries_threading_headers() -> None:
    message = _reply()
    assert message["In-Reply-To"] == "<plain-1@example.com>"
    assert message["References"] == "<first@example.com> <plain-1@example.com>"
    assert message["Date"] == "Mon, 03 Mar 2025 12:00:00 +0000"


def test_message_id_and_reply_to_carry_verifiable_token() -> None:
    message = _reply()
    token = str(message["Message-ID"]).strip("<>").split(".", 1)[0]
    assert verify_reply_token(token, SECRET) == 314
    assert str(message["Message-ID"]).endswith("@acme.test>")
    local = str(message["Reply-To"].addresses[0].username)
    assert verify_reply_token(local.split("+", 1)[1], SECRET) == 314


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Cannot log in", "Re: Cannot log in"), ("Re: RE: AW: Hi", "Re: Hi"), ("", "Re: your request")],
)
def test_reply_subject_has_exactly_one_prefix(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_auto_acknowledgement_is_marked_auto_submitted() -> None:
    assert _reply(auto_acknowledgement=True)["Auto-Submitted"] == "auto-replied"
    assert _reply()["Auto-Submitted"] is None


def test_html_becomes_sanitised_alternative() -> None:
    message = _reply(html="<p onclick='x()'>Done</p><script>bad()</script>")
    assert message.get_content_type() == "multipart/alternative"
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    assert html_part.get_content().strip() == "<p>Done</p>"


def test_attachments_are_added() -> None:
    attachment = Attachment(filename="log.txt", content_type="text/plain", size=3, payload=b"abc")
    message = _reply(attachments=[attachment])
    (part,) = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("log.txt", "abc")


def test_subject_line_breaks_cannot_inject_headers() -> None:
    message = _reply(subject="hello\r\nBcc: victim@example.com")
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])


def test_customer_reply_to_built_message_threads_back_to_ticket() -> None:
    outbound = _reply()
    customer_reply = (
        "From: ann@example.com\r\n"
        f"To: {outbound['Reply-To']}\r\n"
        "Subject: Re: Cannot log in\r\n"
        f"In-Reply-To: {outbound['Message-ID']}\r\n\r\nThanks!\r\n"
    ).encode()
    parsed = parse_email(customer_reply, limits=EmailLimits())
    assert extract_ticket_id(parsed, SECRET, "acme.test") == 314
