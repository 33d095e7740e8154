"""Who is writing: anonymous visitors (signed visitor tokens) and signed-in users (signed identities).

Visitor token: ``<visitor_id>.<signature>`` where the signature is an HMAC of the site and visitor id
with Relaydesk's secret key. The server stores nothing per visitor: the token proves itself, and the
visitor id (the public part) is the ``IdentityKind.CHAT_VISITOR`` value of the customer it becomes.

Signed identity: the site's own server computes ``user_hash = hex(HMAC-SHA256(site secret, user_id))``
and puts it in the page (``data-user-hash``) or gives it to its app. The user then becomes the customer
holding ``IdentityKind.EXTERNAL_ID`` ``"<site key>:<user id>"`` (verified), on the web and in the app
alike, so one account is one customer on both channels.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings
from relaydesk.tickets.enums import Channel

__all__ = [
    "ChatClient",
    "SiteView",
    "external_id_value",
    "issue_visitor_token",
    "signed_visitor_id",
    "user_hash",
    "user_hash_matches",
    "visitor_id_from_token",
]

USER_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces


@dataclass(frozen=True)
class SiteView:
    """What a request needs of a chat site, cached in memory between requests."""

    id: int
    name: str
    public_key: str
    secret: str
    allowed_origins: tuple[str, ...]
    greeting: str
    active: bool


@dataclass(frozen=True)
class ChatClient:
    """One authenticated caller of the public chat API."""

    site: SiteView
    channel: Channel
    visitor_id: str
    # Set when the caller proved a signed identity.
    user_id: str | None = None
    # A visitor token minted for this call, returned so the client keeps it.
    issued_token: str | None = None

    @property
    def verified(self) -> bool:
        return self.user_id is not None

    @property
    def identity_kind(self) -> IdentityKind:
        return IdentityKind.EXTERNAL_ID if self.user_id is not None else IdentityKind.CHAT_VISITOR

    @property
    def identity_value(self) -> str:
        if self.user_id is not None:
            return external_id_value(self.site, self.user_id)
        return self.visitor_id

    @property
    def rate_key(self) -> str:
        return f"{self.site.id}:{self.identity_value}"


def _mac(message: str) -> str:
    digest = hmac.new(get_settings().secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def external_id_value(site: SiteView, user_id: str) -> str:
    return f"{site.public_key}:{user_id}"


def issue_visitor_token(site: SiteView) -> str:
    visitor_id = "v_" + secrets.token_urlsafe(15)
    return f"{visitor_id}.{_mac(f'chat-visitor:{site.id}:{visitor_id}')[:32]}"


def visitor_id_from_token(site: SiteView, token: str) -> str | None:
    """The visitor id a token proves for this site, or None when it is forged or from another site."""
    visitor_id, dot, signature = token.partition(".")
    if not dot or not visitor_id.startswith("v_") or len(visitor_id) > 40:
        return None
    expected = _mac(f"chat-visitor:{site.id}:{visitor_id}")[:32]
    return visitor_id if constant_time_equals(expected, signature) else None


def signed_visitor_id(site: SiteView, user_id: str) -> str:
    """A signed-in user's visitor id: the same on every device, so deflection links to their tickets."""
    return "u_" + _mac(f"chat-user:{site.id}:{user_id}")[:22]


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def user_hash_matches(site: SiteView, user_id: str, candidate: str) -> bool:
    return constant_time_equals(user_hash(site.secret, user_id), candidate.strip().lower())
