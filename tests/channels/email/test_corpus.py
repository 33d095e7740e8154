"""Every corpus message either parses or is rejected with a reason code; nothing else escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaydesk.channels.email import EmailLimits, EmailRejected, parse_email

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted([*CORPUS.glob("*.eml"), *CORPUS.glob("*.bin")])
# Files that must be quarantined, with the reason the quarantine queue will show.
EXPECTED_REJECTIONS = {
    "raw_empty.eml": "empty",
    "raw_binary_not_email.bin": "not_email",
    "missing_from.eml": "no_sender",
    "garbage_headers.eml": "no_sender",
    "many_attachments.eml": "too_many_attachments",
}


def test_corpus_has_enough_realistic_messages() -> None:
    assert len(CORPUS_FILES) >= 30


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[path.name for path in CORPUS_FILES])
def test_corpus_message_parses_or_is_rejected_with_expected_reason(path: Path) -> None:
    raw = path.read_bytes()
    if path.name in EXPECTED_REJECTIONS:
        with pytest.raises(EmailRejected) as rejected:
            parse_email(raw, limits=EmailLimits())
        assert rejected.value.reason_code == EXPECTED_REJECTIONS[path.name]
        return
    # Any EmailRejected escaping here fails the test: these messages must become tickets.
    parsed = parse_email(raw, limits=EmailLimits())
    assert "@" in parsed.from_address
    assert parsed.from_address == parsed.from_address.lower()
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert parsed.raw_size == len(raw)
    assert parsed.date is None or parsed.date.utcoffset() is not None
    assert "\x00" not in parsed.full_text and "\x00" not in parsed.subject
