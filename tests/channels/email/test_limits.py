"""Resource limits quarantine oversized or over-complex mail instead of processing it."""

from __future__ import annotations

import pickle

import pytest

from relaydesk.channels.email import EmailLimits, EmailRejected, parse_email, sanitize_filename


def _with_attachment(size: int) -> bytes:
    return (
        b"From: a@example.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--x\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=a.bin\r\n\r\n" + b"A" * size + b"\r\n--x--\r\n"
    )


def test_attachment_over_limit_is_rejected() -> None:
    with pytest.raises(EmailRejected) as rejected:
        parse_email(_with_attachment(2000), limits=EmailLimits(max_attachment_bytes=1000))
    assert rejected.value.reason_code == "attachment_too_large"


def test_attachment_within_limit_is_kept() -> None:
    parsed = parse_email(_with_attachment(900), limits=EmailLimits(max_attachment_bytes=1000))
    assert parsed.attachments[0].size == 900


def test_message_over_size_limit_is_rejected() -> None:
    with pytest.raises(EmailRejected) as rejected:
        parse_email(_with_attachment(2000), limits=EmailLimits(max_message_bytes=1000))
    assert rejected.value.reason_code == "too_large"


def test_deeply_nested_multipart_is_rejected() -> None:
    depth = 30
    head = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
        for level in range(depth)
    )
    tail = b"Content-Type: text/plain\r\n\r\nx\r\n" + b"".join(
        b"--b%d--\r\n" % level for level in reversed(range(depth))
    )
    with pytest.raises(EmailRejected) as rejected:
        parse_email(head + body + tail, limits=EmailLimits(max_depth=10))
    assert rejected.value.reason_code == "nesting_too_deep"


@pytest.mark.parametrize(
    ("raw_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("CON.txt", "_CON.txt"),
        ("  ..hidden ", "hidden"),
        (None, "attachment.pdf"),
    ],
)
def test_filenames_are_sanitised(raw_name: str | None, expected: str) -> None:
    assert sanitize_filename(raw_name, "application/pdf") == expected


def test_overlong_filename_keeps_extension() -> None:
    name = sanitize_filename("x" * 500 + ".docx", "application/octet-stream")
    assert len(name) <= 180 and name.endswith(".docx")


def test_rejection_survives_pickling_with_its_reason() -> None:
    restored = pickle.loads(pickle.dumps(EmailRejected("too_large", "31457281 bytes")))
    assert (restored.reason_code, restored.message) == ("too_large", "31457281 bytes")
