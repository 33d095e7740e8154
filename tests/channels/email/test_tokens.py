"""Signed reply tokens thread replies to tickets and refuse anything unsigned or forged."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from relaydesk.channels.email import (
    EmailAddress,
    ParsedEmail,
    extract_ticket_id,
    make_reply_token,
    verify_reply_token,
)

SECRET = b"reply-token-secret-for-tests"
Parse = Callable[[str], ParsedEmail]


@pytest.mark.parametrize("ticket_id", [1, 42, 987_654_321, 2**63 - 1])
def test_token_round_trips_ticket_id(ticket_id: int) -> None:
    token = make_reply_token(ticket_id, SECRET)
    assert re.fullmatch(r"[a-z0-9-]{1,40}", token)
    assert verify_reply_token(token, SECRET) == ticket_id


def test_upper_cased_token_still_verifies() -> None:
    assert verify_reply_token(make_reply_token(7, SECRET).upper(), SECRET) == 7


def test_token_signed_with_another_secret_is_rejected() -> None:
    assert verify_reply_token(make_reply_token(7, b"other-secret"), SECRET) is None


def test_token_with_swapped_ticket_id_is_rejected() -> None:
    mac = make_reply_token(7, SECRET).split("-", 1)[1]
    assert verify_reply_token(f"r8-{mac}", SECRET) is None


@pytest.mark.parametrize("token", ["", "r7", "r7-", "7-abc", "r0-aaaaaaaaaaaaaaaa", "r7-aaaaaaaaaaaaaaaa"])
def test_malformed_or_unsigned_token_is_rejected(token: str) -> None:
    assert verify_reply_token(token, SECRET) is None


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        make_reply_token(1, b"")


def test_ticket_id_found_in_plus_address(parse_corpus: Parse) -> None:
    parsed = parse_corpus("reply_with_token.eml")
    address = f"support+{make_reply_token(512, SECRET)}@acme.test"
    parsed = replace(parsed, to=(EmailAddress(name="Acme Support", address=address),))
    assert extract_ticket_id(parsed, SECRET, "ACME.test") == 512


def test_plus_address_on_foreign_domain_is_ignored(parse_corpus: Parse) -> None:
    address = f"support+{make_reply_token(512, SECRET)}@evil.example"
    parsed = replace(parse_corpus("reply_with_token.eml"), to=(EmailAddress(name="", address=address),))
    assert extract_ticket_id(parsed, SECRET, "acme.test") is None


def test_ticket_id_found_in_in_reply_to(parse_corpus: Parse) -> None:
    message_id = f"<{make_reply_token(99, SECRET)}.deadbeef@acme.test>"
    parsed = replace(parse_corpus("plain_simple.eml"), in_reply_to=message_id)
    assert extract_ticket_id(parsed, SECRET, "acme.test") == 99


def test_ticket_id_found_in_references(parse_corpus: Parse) -> None:
    message_id = f"<{make_reply_token(99, SECRET)}.deadbeef@acme.test>"
    parsed = replace(parse_corpus("plain_simple.eml"), references=("<x@y.example>", message_id))
    assert extract_ticket_id(parsed, SECRET, "acme.test") == 99


def test_forged_in_reply_to_returns_none(parse_corpus: Parse) -> None:
    parsed = replace(
        parse_corpus("outlook_quoted_reply.eml"), in_reply_to="<r2s-aaaaaaaaaaaaaaaa.1@acme.test>"
    )
    assert extract_ticket_id(parsed, SECRET, "acme.test") is None


def test_unsigned_plus_address_returns_none(parse_corpus: Parse) -> None:
    parsed = parse_corpus("reply_with_token.eml")
    assert parsed.to[0].address == "support+token@acme.test"
    assert extract_ticket_id(parsed, SECRET, "acme.test") is None
