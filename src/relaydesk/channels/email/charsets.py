"""Forgiving text decoding for bodies and headers whose declared charset is missing, unknown or wrong."""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re

__all__ = ["decode_bytes", "decode_header_value", "normalise_charset"]

# Labels seen in real mail that Python does not know, or knows under a narrower codec.
_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "sjis": "shift_jis",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-user-defined": "cp1252",
    "ansi_x3.4-1968": "us-ascii",
}
# Codecs that are "text encodings" to Python but never legitimate mail charsets.
_FORBIDDEN = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
# Single-byte labels that senders routinely attach to UTF-8 text.
_LATIN_LABELS = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?)")


def normalise_charset(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unusable."""
    if not label:
        return None
    cleaned = label.strip().strip("\"'").lower().split("*", 1)[0]
    cleaned = _ALIASES.get(cleaned, cleaned)
    try:
        info = codecs.lookup(cleaned)
    except (LookupError, ValueError):
        return None
    if info.name in _FORBIDDEN or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode bytes using the declared charset when it fits, else UTF-8, else Windows-1252/Latin-1."""
    codec = normalise_charset(declared)
    text: str | None = None
    if codec in _LATIN_LABELS and not data.isascii():
        # Valid multi-byte UTF-8 is almost never accidental, so it beats a single-byte label.
        text = _try(data, "utf-8")
    if text is None and codec is not None:
        text = _try(data, codec)
    if text is None and b"\x1b$" in data:
        text = _try(data, "iso2022_jp")
    for fallback in ("utf-8", "cp1252", "latin-1"):
        if text is not None:
            break
        text = _try(data, fallback)
    assert text is not None  # latin-1 maps every byte
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    raw = payload.encode("ascii", "replace")
    if encoding.lower() == "b":
        raw = raw.rstrip(b"=")
        raw += b"=" * (-len(raw) % 4)
        try:
            data = base64.b64decode(raw)
        except (binascii.Error, ValueError):
            data = raw
    else:
        data = quopri.decodestring(raw.replace(b"_", b" "), header=True)
    return decode_bytes(data, charset)


def _decode_plain(segment: str) -> str:
    # The bytes parser smuggles raw 8-bit header bytes through as surrogate escapes.
    return decode_bytes(segment.encode("utf-8", "surrogateescape"))


def decode_header_value(raw: str) -> str:
    """Unfold a raw header value and decode RFC 2047 words and stray 8-bit bytes to clean text."""
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)
    unfolded = _BETWEEN_WORDS.sub("", unfolded)
    pieces: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(unfolded):
        pieces.append(_decode_plain(unfolded[position : match.start()]))
        pieces.append(_decode_word(match.group(1), match.group(2), match.group(3)))
        position = match.end()
    pieces.append(_decode_plain(unfolded[position:]))
    text = "".join(pieces).replace("\n", " ")
    return _CONTROL.sub("", text).strip()
