"""Conservative removal of quoted replies and signatures, leaving only the sender's new text."""

from __future__ import annotations

import re

__all__ = ["strip_quotes_and_signature"]

_FLAGS = re.IGNORECASE | re.UNICODE
# "On <date>, <person> wrote:" in the languages our customers write in; start and end must both match.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{3,300}\bwrote\s*:"
    r"|Am\b.{3,300}\bschrieb\b.{0,200}:"
    r"|Le\b.{3,300}\ba\s+écrit\s*:"
    r"|El\b.{3,300}\bescribió\s*:"
    r"|Op\b.{3,300}\bschreef\b.{0,200}:"
    r"|Il\b.{3,300}\bha\s+scritto\s*:"
    r"|Em\b.{3,300}\bescreveu\s*:"
    r")\s*$",
    _FLAGS,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Am|Le|El|Op|Il|Em)\b", _FLAGS)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Oorspronkelijk bericht|Messaggio originale|Forwarded message|Weitergeleitete Nachricht)\s*-{2,}\s*$",
    _FLAGS,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|De|Von|Van|Da|Från)\s*:\*?\s*\S", _FLAGS)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Datum|Enviado|Verzonden|Inviato|Skickat)\s*:\*?\s*\S", _FLAGS
)
_UNDERSCORE_RULE = re.compile(r"^\s*_{10,}\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \w[\w ]{0,40}|Sent from Mail for Windows.*|Get Outlook for \w+.*"
    r"|Sent from Outlook.*|Envoyé de mon \w[\w ]{0,40}|Von meinem \w[\w ]{0,40} gesendet"
    r"|Enviado desde mi \w[\w ]{0,40}|Verstuurd vanaf mijn \w[\w ]{0,40})\s*\.?\s*$",
    _FLAGS,
)
# A "-- " separator further from the end than this is more likely content than a signature.
_MAX_SIGNATURE_LINES = 12


def _find_reply_header(lines: list[str]) -> int | None:
    """Index of the first line that introduces a quoted earlier message, if any."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return index
        if _ATTRIBUTION_START.match(line):
            # Clients wrap long attribution lines, so look at up to three joined lines.
            for span in (1, 2, 3):
                joined = " ".join(part.strip() for part in lines[index : index + span])
                if _ATTRIBUTION.match(joined):
                    return index
        window = lines[index + 1 : index + 5]
        if _HEADER_FROM.match(line) and any(_HEADER_SENT.match(other) for other in window):
            # Outlook often draws a rule of underscores right above its header block.
            if index > 0 and _UNDERSCORE_RULE.match(lines[index - 1]):
                return index - 1
            return index
    return None


def _strip_trailing_quote(lines: list[str]) -> list[str]:
    """Drop a '>'-quoted block at the end; interleaved quotes are kept because they give context."""
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end]


def _strip_signature(lines: list[str]) -> list[str]:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in ("-- ", "--") and len(lines) - index <= _MAX_SIGNATURE_LINES:
            return lines[:index]
    return lines


def _strip_mobile_footer(lines: list[str]) -> list[str]:
    trimmed = list(lines)
    while trimmed and not trimmed[-1].strip():
        trimmed.pop()
    if trimmed and _MOBILE_FOOTER.match(trimmed[-1]):
        trimmed.pop()
    return trimmed


def strip_quotes_and_signature(text: str) -> str:
    """The new part of a reply; if stripping would leave nothing, the whole text is kept."""
    lines = text.replace("\r\n", "\n").split("\n")
    header = _find_reply_header(lines)
    if header is not None:
        lines = lines[:header]
    lines = _strip_trailing_quote(lines)
    lines = _strip_signature(lines)
    lines = _strip_mobile_footer(lines)
    lines = _strip_trailing_quote(lines)
    result = "\n".join(line.rstrip() for line in lines).strip("\n")
    if not result.strip():
        return text.strip("\n")
    return result
