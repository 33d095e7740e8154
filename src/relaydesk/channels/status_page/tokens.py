"""The signed, expiring token of a status-page link: it names one ticket and the customer it belongs to.

Whoever holds the link is treated as that customer for that ticket (as a reply token in an email
proves the sender); it is signed with the secret key for this purpose only (``kit.signing``) and
expires after ``status_link_max_age_days``.
"""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.kit.signing import ExpiredTokenError, InvalidTokenError, SignedTokens
from relaydesk.settings import get_settings

__all__ = ["ExpiredTokenError", "InvalidTokenError", "StatusLink", "make_status_token", "read_status_token"]

_PURPOSE = "relaydesk.status-page"
# A token is a short JSON payload, a timestamp and a signature; anything much longer is not one.
MAX_TOKEN_CHARS = 400


@dataclass(frozen=True)
class StatusLink:
    ticket_id: int
    customer_id: int


def _tokens() -> SignedTokens:
    return SignedTokens(get_settings().secret, _PURPOSE)


def make_status_token(ticket_id: int, customer_id: int) -> str:
    return _tokens().dumps({"t": ticket_id, "c": customer_id})


def read_status_token(token: str) -> StatusLink:
    """The ticket and customer the token names; ``ExpiredTokenError`` or ``InvalidTokenError`` if not."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidTokenError("the token is too long")
    max_age = get_settings().status_link_max_age_days * 86_400
    payload = _tokens().loads(token, max_age_seconds=max_age)
    try:
        ticket_id, customer_id = payload["t"], payload["c"]
    except (KeyError, TypeError):
        raise InvalidTokenError("the token names no ticket") from None
    if not (isinstance(ticket_id, int) and isinstance(customer_id, int)):
        raise InvalidTokenError("the token names no ticket")
    return StatusLink(ticket_id, customer_id)
