"""Whether the receiving MTA authenticated the From address (RFC 8601 Authentication-Results).

A From header is whatever the sender typed. It is proof of identity only when the MTA that received
the message for us checked it (DMARC, or DKIM / SPF aligned with the From domain) and wrote the
result into an Authentication-Results header under its own authserv-id. Anyone can write such a
header too, so only the configured authserv-ids count (``RELAYDESK_EMAIL_TRUSTED_AUTHSERV_IDS``),
and of those only the topmost header: the receiving MTA prepends its own and removes forged copies
of it (RFC 8601 section 5), so a header further down was written by someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["from_address_authenticated"]

_COMMENT = re.compile(r"\([^()]*\)")
_PROPERTY = re.compile(r'^([a-z0-9_-]+)\.([a-z0-9_.-]+)=(?:"([^"]*)"|(\S*))$')


def _without_comments(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def _results(header: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """(authserv-id, [(method, result, {ptype.property: value})]) of one header value."""
    parts = [part.strip() for part in _without_comments(header).split(";")]
    authserv_id = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results: list[tuple[str, str, dict[str, str]]] = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue  # "none", or something this reader does not understand: never a pass
        method, _, result = tokens[0].lower().partition("=")
        properties: dict[str, str] = {}
        for token in tokens[1:]:
            match = _PROPERTY.match(token.lower())
            if match is not None:
                ptype, name, quoted, bare = match.groups()
                properties[f"{ptype}.{name}"] = quoted if quoted is not None else bare
        results.append((method.split("/", 1)[0], result, properties))
    return authserv_id, results


def _domain(value: str) -> str:
    return value.rpartition("@")[2].strip().strip(".").lower()


def _aligned(from_domain: str, authenticated: str) -> bool:
    # Relaxed alignment (RFC 7489): the authenticated domain is the From domain or a parent of it.
    return bool(authenticated) and (from_domain == authenticated or from_domain.endswith("." + authenticated))


def _passes(from_domain: str, results: Iterable[tuple[str, str, dict[str, str]]]) -> bool:
    for method, result, properties in results:
        if result != "pass":
            continue
        if method == "dmarc" and _domain(properties.get("header.from", from_domain)) == from_domain:
            return True
        if method == "dkim" and _aligned(
            from_domain, _domain(properties.get("header.d") or properties.get("header.i") or "")
        ):
            return True
        if method == "spf" and _aligned(
            from_domain, _domain(properties.get("smtp.mailfrom") or properties.get("smtp.helo") or "")
        ):
            return True
    return False


def from_address_authenticated(
    headers: Sequence[str], from_address: str, trusted_authserv_ids: Iterable[str]
) -> bool:
    """True when the topmost header of a trusted authserv-id reports a pass aligned with From."""
    trusted = {authserv_id.strip().lower() for authserv_id in trusted_authserv_ids if authserv_id.strip()}
    from_domain = _domain(from_address)
    if not trusted or not from_domain:
        return False
    for header in headers:
        authserv_id, results = _results(header)
        if authserv_id in trusted:
            return _passes(from_domain, results)
    return False
