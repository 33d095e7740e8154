"""Inbound parsing: raw RFC 5322 bytes to a ParsedEmail, or EmailRejected with a quarantine reason."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar

from relaydesk.channels.email.autoreply import detect_auto_submitted
from relaydesk.channels.email.charsets import decode_bytes, decode_header_value
from relaydesk.channels.email.errors import (
    REJECT_ATTACHMENT_TOO_LARGE,
    REJECT_EMPTY,
    REJECT_NESTING_TOO_DEEP,
    REJECT_NO_SENDER,
    REJECT_NOT_EMAIL,
    REJECT_PARSE_ERROR,
    REJECT_TOO_LARGE,
    REJECT_TOO_MANY_ATTACHMENTS,
    REJECT_TOO_MANY_PARTS,
    EmailRejected,
)
from relaydesk.channels.email.html_body import html_to_text, sanitize_html
from relaydesk.channels.email.model import Attachment, EmailAddress, EmailLimits, ParsedEmail
from relaydesk.channels.email.quotes import strip_quotes_and_signature

__all__ = ["parse_email", "sanitize_filename"]

GENERATED_ID_DOMAIN = "generated.relaydesk.invalid"
# At least one of these must be present for bytes to count as an email rather than a stray file.
_EMAIL_HEADERS = {
    "from", "to", "cc", "subject", "date", "message-id", "received", "return-path", "mime-version",
    "sender", "reply-to", "delivered-to", "in-reply-to", "references", "content-type",
}  # fmt: skip
_HEADER_NAME = re.compile(rb"^[!-9;-~]{1,76}:")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_BARE_MESSAGE_ID = re.compile(r"^[^<>\s@]{1,400}@[^<>\s@]{1,100}$")
_UNSAFE_FILENAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", re.IGNORECASE)
_MAX_FILENAME = 180
T = TypeVar("T")


class _Walk:
    """Mutable state gathered while walking the MIME tree."""

    def __init__(self, limits: EmailLimits) -> None:
        self.limits = limits
        self.parts = 0
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []


def _looks_like_email(raw: bytes) -> bool:
    first_line = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    # mbox files handed over by some MTAs start with a "From " envelope line.
    return bool(_HEADER_NAME.match(first_line) or first_line.startswith(b"From "))


def _raw_headers(message: Message) -> dict[str, list[str]]:
    """Undecoded, unfolded header values by lower-cased name; read raw so malformed headers cannot raise."""
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        found.setdefault(name.strip().lower(), []).append(re.sub(r"\r?\n(?=[ \t])", "", str(value)))
    return found


def _addresses(raw_values: list[str]) -> tuple[EmailAddress, ...]:
    # Split before decoding: an encoded display name may contain commas ("Doe, Jane").
    try:
        pairs = getaddresses([value.replace("\r", " ").replace("\n", " ") for value in raw_values])
    except Exception:
        pairs = getaddresses([decode_header_value(value) for value in raw_values])
    mailboxes: list[EmailAddress] = []
    for raw_name, raw_address in pairs:
        name, address = decode_header_value(raw_name), decode_header_value(raw_address)
        address = address.strip().lower()
        local, _, domain = address.rpartition("@")
        if local and domain and " " not in address and ("." in domain or domain == "localhost"):
            mailboxes.append(EmailAddress(name=name.strip(), address=address))
    return tuple(mailboxes)


def _message_ids(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        matches = _MESSAGE_ID.findall(value)
        if not matches and _BARE_MESSAGE_ID.match(value.strip()):
            # Some mailers omit the angle brackets; the id is still usable for threading.
            matches = [value.strip()]
        found.extend(f"<{match}>" for match in matches)
    return found


def _date(values: list[str]) -> datetime | None:
    if not values:
        return None
    try:
        parsed = parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # "-0000" means "zone unknown"; UTC is the least surprising reading.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def sanitize_filename(name: str | None, content_type: str) -> str:
    """A filename safe for any filesystem and UI: no paths, controls, bidi tricks or reserved names."""
    cleaned = unicodedata.normalize("NFC", decode_header_value(name or ""))
    cleaned = re.split(r"[/\\]", cleaned)[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", cleaned).strip(" .")
    if _WINDOWS_RESERVED.match(cleaned):
        cleaned = f"_{cleaned}"
    if not cleaned:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        cleaned = f"attachment{extension}"
    if len(cleaned) > _MAX_FILENAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = f"{stem[: _MAX_FILENAME - len(extension) - 1]}.{extension}"
        else:
            cleaned = cleaned[:_MAX_FILENAME]
    return cleaned


def _safe_call(default: T, call: Callable[[], T | None]) -> T:
    # Header-object parsing deep in the stdlib has raised on hostile input before; never let it escape.
    try:
        result = call()
    except Exception:
        return default
    return result if result is not None else default


def _part_bytes(part: Message) -> bytes:
    if part.is_multipart() or part.get_content_maintype() == "message":
        try:
            return part.as_bytes(policy=policy.compat32)
        except Exception:
            return str(part.get_payload()).encode("utf-8", "surrogateescape")
    encoding = str(_safe_call("", lambda: part.get("content-transfer-encoding", ""))).strip().lower()
    if encoding == "base64":
        return _lenient_base64(part)
    payload: object = _safe_call(None, lambda: part.get_payload(decode=True))
    return payload if isinstance(payload, bytes) else b""


def _lenient_base64(part: Message) -> bytes:
    """Decode base64 the way mail clients do: skip stray characters and stop at broken padding."""
    raw: object = part.get_payload()
    text = raw if isinstance(raw, str) else ""
    alphabet = re.sub(r"[^A-Za-z0-9+/=]", "", text)
    data = alphabet.split("=", 1)[0]
    data = data[: len(data) - len(data) % 4 if len(data) % 4 == 1 else len(data)]
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _add_attachment(part: Message, content_type: str, disposition: str | None, state: _Walk) -> None:
    payload = _part_bytes(part)
    if content_type == "message/rfc822":
        # The attached message is the payload; drop the outer part's own MIME headers.
        inner = part.get_payload()
        attached = inner[0] if isinstance(inner, list) and inner else None
        if isinstance(attached, Message):
            payload = _safe_call(payload, lambda: attached.as_bytes(policy=policy.compat32))
    limits = state.limits
    if len(payload) > limits.max_attachment_bytes:
        raise EmailRejected(
            REJECT_ATTACHMENT_TOO_LARGE,
            f"attachment of {len(payload)} bytes exceeds {limits.max_attachment_bytes}",
        )
    if len(state.attachments) >= limits.max_attachments:
        raise EmailRejected(REJECT_TOO_MANY_ATTACHMENTS, f"more than {limits.max_attachments} attachments")
    raw_name: str | None = _safe_call(None, part.get_filename)
    if raw_name is None and content_type == "message/rfc822":
        raw_name = "forwarded-message.eml"
    content_id_values = [str(value) for name, value in part.raw_items() if name.lower() == "content-id"]
    content_ids = _message_ids([decode_header_value(value) for value in content_id_values])
    content_id = content_ids[0].strip("<>") if content_ids else None
    state.attachments.append(
        Attachment(
            filename=sanitize_filename(raw_name, content_type),
            content_type=content_type,
            size=len(payload),
            payload=payload,
            content_id=content_id,
            inline=disposition == "inline" or (disposition is None and content_id is not None),
        )
    )


def _walk(part: Message, depth: int, state: _Walk) -> None:
    state.parts += 1
    if state.parts > state.limits.max_parts:
        raise EmailRejected(REJECT_TOO_MANY_PARTS, f"more than {state.limits.max_parts} MIME parts")
    if depth > state.limits.max_depth:
        raise EmailRejected(REJECT_NESTING_TOO_DEEP, f"MIME nesting deeper than {state.limits.max_depth}")
    content_type = _safe_call("application/octet-stream", part.get_content_type).lower()
    disposition = _safe_call(None, part.get_content_disposition)
    if part.is_multipart() and content_type != "message/rfc822" and content_type.startswith("multipart/"):
        children: object = part.get_payload()
        if isinstance(children, list):
            _walk_multipart(content_type, list(children), depth, state)
            return
    filename = _safe_call(None, part.get_filename)
    if content_type in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
        payload = _part_bytes(part)
        charset = _safe_call(None, part.get_content_charset)
        text = decode_bytes(payload, charset)
        (state.plain if content_type == "text/plain" else state.html).append(text)
        return
    _add_attachment(part, content_type, disposition, state)


def _walk_multipart(content_type: str, children: list[object], depth: int, state: _Walk) -> None:
    parts = [child for child in children if isinstance(child, Message)]
    if content_type == "multipart/alternative":
        # Take one plain and one HTML rendering, not every alternative (some senders add three).
        plain_before, html_before = len(state.plain), len(state.html)
        for child in parts:
            child_type = _safe_call("text/plain", child.get_content_type).lower()
            if child_type == "text/plain" and len(state.plain) > plain_before:
                continue
            if child_type == "text/html" and len(state.html) > html_before:
                continue
            _walk(child, depth + 1, state)
        return
    for child in parts:
        _walk(child, depth + 1, state)


def _decoded(raw_headers: dict[str, list[str]], name: str) -> list[str]:
    return [decode_header_value(value) for value in raw_headers.get(name, [])]


def _parse(raw: bytes, limits: EmailLimits) -> ParsedEmail:
    if not raw.strip():
        raise EmailRejected(REJECT_EMPTY, "message is empty")
    if len(raw) > limits.max_message_bytes:
        raise EmailRejected(REJECT_TOO_LARGE, f"{len(raw)} bytes exceeds {limits.max_message_bytes}")
    if not _looks_like_email(raw):
        raise EmailRejected(REJECT_NOT_EMAIL, "input does not start with an RFC 5322 header")
    if raw.startswith(b"From "):
        raw_for_parser = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    else:
        raw_for_parser = raw.lstrip(b"\r\n")
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw_for_parser)
    raw_headers = _raw_headers(message)
    if not _EMAIL_HEADERS & raw_headers.keys():
        raise EmailRejected(REJECT_NOT_EMAIL, "no standard email header found")

    sender: EmailAddress | None = None
    for source in ("from", "sender", "reply-to", "return-path"):
        found = _addresses(raw_headers.get(source, []))
        if found:
            sender = found[0]
            break
    if sender is None:
        raise EmailRejected(REJECT_NO_SENDER, "no usable From, Sender, Reply-To or Return-Path address")

    state = _Walk(limits)
    _walk(message, 0, state)
    html = sanitize_html("\n".join(state.html)) if state.html else None
    full_text = "\n\n".join(text.strip("\n") for text in state.plain if text.strip())
    if not full_text and html:
        # HTML-only mail, or a client that sent an empty plain alternative next to the real HTML.
        full_text = html_to_text(html)

    message_ids = _message_ids(_decoded(raw_headers, "message-id"))
    generated = not message_ids
    if generated:
        # Stable across re-deliveries of the same bytes, so duplicates are recognised.
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:40]}@{GENERATED_ID_DOMAIN}>"
    else:
        message_id = message_ids[0]
    in_reply_to = _message_ids(_decoded(raw_headers, "in-reply-to"))
    content_type = _safe_call("text/plain", message.get_content_type).lower()
    report_type = _safe_call(None, lambda: message.get_param("report-type"))
    kind, reason = detect_auto_submitted(
        {name: decode_header_value(values[0]) for name, values in raw_headers.items()},
        sender.address,
        content_type,
        report_type if isinstance(report_type, str) else None,
    )
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=tuple(_message_ids(_decoded(raw_headers, "references"))),
        from_address=sender.address,
        from_name=sender.name,
        to=_addresses(raw_headers.get("to", [])),
        cc=_addresses(raw_headers.get("cc", [])),
        reply_to=_addresses(raw_headers.get("reply-to", [])),
        subject=next(iter(_decoded(raw_headers, "subject")), ""),
        date=_date(_decoded(raw_headers, "date")),
        text=strip_quotes_and_signature(full_text),
        full_text=full_text,
        html=html,
        attachments=tuple(state.attachments),
        auto_submitted=kind,
        auto_submitted_reason=reason,
        raw_size=len(raw),
        message_id_generated=generated,
        authentication_results=tuple(raw_headers.get("authentication-results", [])[:20]),
    )


def parse_email(raw: bytes, *, limits: EmailLimits) -> ParsedEmail:
    """Parse one inbound message; every input either parses or raises EmailRejected with a reason."""
    try:
        return _parse(raw, limits)
    except EmailRejected:
        raise
    except RecursionError as error:
        raise EmailRejected(REJECT_NESTING_TOO_DEEP, "message structure too deeply nested") from error
    except Exception as error:
        # Quarantine rather than lose: an unexpected failure is still a reason, never a crash.
        raise EmailRejected(REJECT_PARSE_ERROR, f"{type(error).__name__}: {error}") from error
