"""Automatic mail (auto-replies, bounces, bulk, lists) is recognised with the evidence for it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from relaydesk.channels.email import EmailLimits, ParsedEmail, parse_email

Parse = Callable[[str], ParsedEmail]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("vacation_autoreply.eml", "auto_reply"),
        ("dsn_bounce.eml", "bounce"),
        ("precedence_bulk.eml", "bulk"),
        ("mailing_list.eml", "list"),
        ("read_receipt_mdn.eml", "auto_reply"),
        ("plain_simple.eml", None),
        ("gmail_quoted_reply.eml", None),
    ],
)
def test_corpus_message_has_expected_auto_submitted_kind(parse_corpus: Parse, name: str, kind: str) -> None:
    parsed = parse_corpus(name)
    assert parsed.auto_submitted == kind
    assert (parsed.auto_submitted_reason is None) == (kind is None)


def _headers_only(extra: str) -> ParsedEmail:
    raw = f"From: a@example.com\r\nTo: support@acme.test\r\nSubject: hi\r\n{extra}\r\n\r\nbody\r\n"
    return parse_email(raw.encode(), limits=EmailLimits())


def test_auto_submitted_no_is_a_person() -> None:
    assert _headers_only("Auto-Submitted: no").auto_submitted is None


def test_x_autorespond_header_is_auto_reply() -> None:
    assert _headers_only("X-Autorespond: yes").auto_submitted == "auto_reply"


def test_empty_return_path_is_automatic() -> None:
    parsed = _headers_only("Return-Path: <>")
    assert (parsed.auto_submitted, parsed.auto_submitted_reason) == ("auto_reply", "empty Return-Path")


def test_postmaster_sender_is_bounce() -> None:
    raw = b"From: postmaster@mx.example.com\r\nSubject: failure\r\n\r\nundeliverable\r\n"
    assert parse_email(raw, limits=EmailLimits()).auto_submitted == "bounce"
