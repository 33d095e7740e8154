"""Fuzzing the parse-or-reject contract with random bytes and mutated corpus messages."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaydesk.channels.email import EmailLimits, EmailRejected, ParsedEmail, parse_email

CORPUS = [path.read_bytes() for path in sorted((Path(__file__).parent / "corpus").glob("*.eml"))]
LIMITS = EmailLimits(max_message_bytes=1_000_000)
KNOWN_REASONS = {
    "empty", "too_large", "not_email", "no_sender", "too_many_attachments", "attachment_too_large",
    "too_many_parts", "nesting_too_deep",
}  # fmt: skip


def _parse_or_reject(raw: bytes) -> None:
    reason = ""
    try:
        parsed = parse_email(raw, limits=LIMITS)
    except EmailRejected as rejection:
        reason = rejection.reason_code
    else:
        assert isinstance(parsed, ParsedEmail)
        assert "@" in parsed.from_address
        return
    # A rejection must carry a known reason, and never the catch-all for internal bugs.
    assert reason in KNOWN_REASONS


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_parse_or_reject(raw: bytes) -> None:
    _parse_or_reject(raw)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.integers(min_value=0), st.binary(min_size=0, max_size=8)), max_size=6),
    st.integers(min_value=0),
)
def test_mutated_corpus_messages_parse_or_reject(
    original: bytes, edits: list[tuple[int, bytes]], cut: int
) -> None:
    mutated = bytearray(original)
    for position, replacement in edits:
        index = position % (len(mutated) + 1)
        mutated[index : index + len(replacement)] = replacement
    if mutated and cut % 3 == 0:
        del mutated[cut % len(mutated) :]
    _parse_or_reject(bytes(mutated))


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.text(max_size=80),
    st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "utf-7", "klingon", "base64", "rot13"]),
)
def test_random_header_text_and_charsets_parse_or_reject(subject: str, charset: str) -> None:
    raw = (
        f"From: a@example.com\r\nSubject: =?{charset}?B?{subject}?= {subject}\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n\r\n{subject}\r\n"
    ).encode("utf-8", "surrogatepass")
    _parse_or_reject(raw)
