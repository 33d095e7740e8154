"""Web chat and in-app messaging: sites, who is calling, the conversation, and messages in.

Every function that touches the database opens its own unit of work (the public endpoints and the
WebSocket call them from a thread), so a message is acknowledged only after it is committed.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.channels import quarantine as quarantine_service
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.chat.identity import (
    USER_ID,
    ChatClient,
    SiteView,
    issue_visitor_token,
    signed_visitor_id,
    user_hash_matches,
    visitor_id_from_token,
)
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.chat.repository import ChatRepository
from relaydesk.channels.chat.schemas import (
    ChatMessageIn,
    ChatMessageOut,
    ChatSiteCreate,
    ChatSiteUpdate,
    ChatSuggestionOut,
    ContactIn,
    ContactOut,
    ConversationOut,
    SentOut,
    SiteInfo,
    WaitingOut,
)
from relaydesk.channels.intake import IntakeResult, in_intake_transaction, ingest
from relaydesk.channels.quarantine import InputRejectedError, register_reprocessor
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.schemas import CustomerUpdate, IdentityIn
from relaydesk.db import get_database
from relaydesk.kit.errors import (
    BadRequestError,
    ConflictError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ValidationFailedError,
)
from relaydesk.routing import service as routing
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, DeliveryState, TicketStatus

if TYPE_CHECKING:
    from relaydesk.customers.models import Customer
    from relaydesk.tickets.models import Message

__all__ = [
    "CHAT_CHANNELS",
    "Credentials",
    "Received",
    "asks_contact",
    "authenticate",
    "check_size",
    "conversation",
    "create_site",
    "customer_id_for",
    "embed_snippet",
    "forget_cached_sites",
    "get_site",
    "list_sites",
    "message_out",
    "receive_message",
    "rotate_secret",
    "save_contact",
    "site_by_key",
    "update_site",
]

CHAT_CHANNELS = (Channel.WEB_CHAT, Channel.IN_APP)
MESSAGE_SOURCE = "chat:message"
IDENTITY_SOURCE = "chat:identity"
_SITE_KEY = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_SITE_CACHE_SECONDS = 5.0


# --- sites (admin) -------------------------------------------------------------------------------


def _new_public_key() -> str:
    return "site_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def create_site(
    session: Session, data: ChatSiteCreate, *, public_key: str | None = None, secret: str | None = None
) -> ChatSite:
    """A new site with a fresh public key and secret (both may be given, e.g. by the demo seed)."""
    site = ChatSite(
        name=data.name,
        public_key=public_key or _new_public_key(),
        secret=secret or secrets.token_hex(32),
        allowed_origins=list(data.allowed_origins),
        greeting=data.greeting,
        active=True,
        brand_name=data.brand_name,
        logo_url=data.logo_url,
        brand_color=data.brand_color,
        accent_color=data.accent_color,
        shop_url=data.shop_url,
    )
    session.add(site)
    session.flush()
    return site


def list_sites(session: Session) -> Sequence[ChatSite]:
    return ChatRepository(session).sites()


def get_site(session: Session, site_id: int) -> ChatSite:
    site = session.get(ChatSite, site_id)
    if site is None:
        raise NotFoundError(f"No chat site with id {site_id}.")
    return site


def site_by_key(session: Session, public_key: str) -> ChatSite | None:
    return ChatRepository(session).site_by_key(public_key)


def update_site(session: Session, site_id: int, data: ChatSiteUpdate) -> ChatSite:
    site = get_site(session, site_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(site, field, value)
    session.flush()
    forget_cached_sites()
    return site


def rotate_secret(session: Session, site_id: int) -> ChatSite:
    """A new identity secret; hashes made with the old one stop working at once."""
    site = get_site(session, site_id)
    site.secret = secrets.token_hex(32)
    session.flush()
    forget_cached_sites()
    return site


def embed_snippet(site: ChatSite) -> str:
    base = get_settings().base_url.rstrip("/")
    return f'<script src="{base}/static/chat/widget.js" data-site-key="{site.public_key}" defer></script>'


# --- who is calling --------------------------------------------------------------------------------

_cache: dict[str, tuple[float, SiteView | None]] = {}
_cache_lock = threading.Lock()


def forget_cached_sites() -> None:
    with _cache_lock:
        _cache.clear()


def _site_view(public_key: str) -> SiteView | None:
    # Every public call names its site; a few seconds of caching keeps that off the database while
    # an admin's change still applies everywhere within moments.
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(public_key)
    if hit is not None and now - hit[0] < _SITE_CACHE_SECONDS:
        return hit[1]
    with get_database().transaction(read_only=True) as session:
        site = ChatRepository(session).site_by_key(public_key)
        view = (
            SiteView(
                id=site.id,
                name=site.name,
                public_key=site.public_key,
                secret=site.secret,
                allowed_origins=tuple(site.allowed_origins),
                greeting=site.greeting,
                active=site.active,
            )
            if site is not None
            else None
        )
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()  # a spray of made-up keys must not grow memory without bound
        _cache[public_key] = (now, view)
    return view


@dataclass(frozen=True)
class Credentials:
    """What a caller presented, from headers (REST) or query parameters (WebSocket)."""

    site_key: str | None
    channel: str | None = None
    visitor_token: str | None = None
    user_id: str | None = None
    user_hash: str | None = None
    # The browser's Origin header (absent for native apps and servers) and Relaydesk's own origins.
    origin: str | None = None
    own_origins: tuple[str, ...] = ()


def _check_origin(site: SiteView, credentials: Credentials) -> None:
    origin = (credentials.origin or "").strip().lower().rstrip("/")
    if not origin:
        return  # not a browser (an app, a server): the Origin check is a browser protection
    if origin in credentials.own_origins or "*" in site.allowed_origins or origin in site.allowed_origins:
        return
    raise PermissionDeniedError(
        f"The page origin {origin} is not allowed for chat site '{site.name}'; an admin adds it to "
        "the site's allowed_origins (PATCH /api/v1/chat/sites/{id}).",
        details={"origin": origin},
    )


def authenticate(
    credentials: Credentials,
    *,
    mint: bool = False,
    evidence: dict[str, Any] | None = None,
    before_mint: Callable[[], None] | None = None,
) -> ChatClient:
    """Check the site, the origin and the identity; ``mint`` issues a visitor token when none is valid.

    A signed identity that does not verify is refused with 403 and kept in quarantine together with
    ``evidence`` (the message it came with, if any), so nothing a customer wrote is silently dropped.
    """
    key = (credentials.site_key or "").strip()
    if not key:
        raise NotAuthenticatedError(
            "Name the chat site: send its public key in X-Relaydesk-Site-Key (or site_key= on the WebSocket)."
        )
    site = _site_view(key) if _SITE_KEY.match(key) else None
    if site is None or not site.active:
        raise NotAuthenticatedError(f"The site key {key[:64]!r} is unknown or its chat is switched off.")
    _check_origin(site, credentials)
    try:
        channel = Channel(credentials.channel or Channel.WEB_CHAT)
    except ValueError:
        channel = None
    if channel not in CHAT_CHANNELS:
        raise ValidationFailedError(
            f"The chat channel must be 'web_chat' or 'in_app', not {credentials.channel!r}."
        )
    assert channel is not None

    user_id, user_hash = credentials.user_id, credentials.user_hash
    if user_id or user_hash:
        if not (user_id and user_hash):
            raise BadRequestError(
                "A signed identity needs both the user id and its hash (data-user-id and data-user-hash)."
            )
        if not USER_ID.match(user_id):
            raise ValidationFailedError(
                "The user id must be 1-200 printable ASCII characters without spaces."
            )
        if not user_hash_matches(site, user_id, user_hash):
            _quarantine_identity(site, channel, credentials, evidence)
            raise InputRejectedError(
                "bad_identity_signature",
                "The signed identity does not verify: data-user-hash must be the hex HMAC-SHA256 of "
                "data-user-id keyed with this site's secret. The attempt was kept for an admin to review.",
                status_code=403,
            )
        return ChatClient(
            site=site, channel=channel, visitor_id=signed_visitor_id(site, user_id), user_id=user_id
        )

    if channel is Channel.IN_APP:
        raise NotAuthenticatedError(
            "In-app messaging needs a signed identity: send X-Relaydesk-User-Id and X-Relaydesk-User-Hash."
        )
    visitor_id = visitor_id_from_token(site, credentials.visitor_token) if credentials.visitor_token else None
    if visitor_id is not None:
        return ChatClient(site=site, channel=channel, visitor_id=visitor_id)
    if not mint:
        raise NotAuthenticatedError(
            "The visitor token is missing or not valid for this site; GET /chat/v1/conversation issues one."
        )
    if before_mint is not None:
        before_mint()  # the caller's limit on new visitors: raises when it is reached
    token = issue_visitor_token(site)
    return ChatClient(site=site, channel=channel, visitor_id=token.partition(".")[0], issued_token=token)


def _quarantine_identity(
    site: SiteView, channel: Channel, credentials: Credentials, evidence: dict[str, Any] | None
) -> None:
    raw = {
        "site_key": site.public_key,
        "channel": channel.value,
        "user_id": credentials.user_id,
        "user_hash": credentials.user_hash,
        **(evidence or {}),
    }
    quarantine_service.quarantine_apart(
        channel.value,
        MESSAGE_SOURCE if evidence else IDENTITY_SOURCE,
        "bad_identity_signature",
        f"The user hash for user id {credentials.user_id!r} does not match site '{site.name}'.",
        json.dumps(raw).encode(),
        {"origin": credentials.origin or "", "site_id": site.id},
    )


@register_reprocessor(MESSAGE_SOURCE)
def _reprocess_message(raw: bytes, meta: dict[str, Any]) -> list[InboundMessage]:
    """Re-check a held message with the site's current secret (after an admin fixed a mismatch)."""
    try:
        data = json.loads(raw)
        message = ChatMessageIn(client_id=data["client_id"], body=data["body"])
    except (ValueError, KeyError, TypeError):
        raise InputRejectedError("malformed", "The held chat message cannot be read back.") from None
    forget_cached_sites()
    try:
        client = authenticate(
            Credentials(
                site_key=data.get("site_key"),
                channel=data.get("channel"),
                user_id=data.get("user_id"),
                user_hash=data.get("user_hash"),
            )
        )
    except InputRejectedError:
        raise
    except Exception as exc:
        raise InputRejectedError("rejected", str(exc)) from None
    return [_inbound(client, message)]


# --- the conversation --------------------------------------------------------------------------------

_AUTHOR = {
    AuthorKind.CUSTOMER: "visitor",
    AuthorKind.AGENT: "agent",
    AuthorKind.BOT: "bot",
    AuthorKind.SYSTEM: "system",
}


def message_out(
    session: Session, message: Message, *, answered_up_to: int = 0, names: dict[int, str] | None = None
) -> ChatMessageOut:
    """A message as the widget shows it (agents by first name only)."""
    names = names if names is not None else {}
    author = _AUTHOR[AuthorKind(message.author_kind)]
    name = ""
    if message.author_agent_id is not None:
        if message.author_agent_id not in names:
            full = agents.get_agent(session, message.author_agent_id).name
            names[message.author_agent_id] = (full.split() or [""])[0]
        name = names[message.author_agent_id]
    elif author == "bot":
        name = "Assistant"
    if author == "visitor":
        state = "read" if message.id < answered_up_to else "delivered"
    else:
        state = DeliveryState(message.delivery_state).value
    return ChatMessageOut(
        id=message.id,
        client_id=message.meta.get("client_id"),
        author=author,  # type: ignore[arg-type]
        author_name=name,
        body=message.body_text,
        created_at=message.created_at,
        state=state,
        suggestions=[ChatSuggestionOut(**a) for a in message.meta.get("deflection_articles", [])],
        deflection_session=message.meta.get("deflection_session"),
        feedback={int(k): v for k, v in message.meta.get("deflection_feedback", {}).items()},
    )


def _customer(session: Session, client: ChatClient) -> Customer | None:
    """The customer this caller already is (after any merge), or None before their first message."""
    customer = customers.find_by_identity(session, client.identity_kind, client.identity_value)
    while customer is not None and customer.merged_into_id is not None:
        customer = customers.get_customer(session, customer.merged_into_id)
    return customer


def customer_id_for(client: ChatClient) -> int | None:
    """The customer this caller already is, or None before their first message."""
    with get_database().transaction(read_only=True) as session:
        customer = _customer(session, client)
        return customer.id if customer is not None else None


def _channels_for(client: ChatClient) -> tuple[Channel, ...]:
    # A signed-in user is one customer on the web and in the app: both show the same conversation.
    return CHAT_CHANNELS if client.verified else (client.channel,)


def conversation(client: ChatClient, *, after_id: int | None = None, limit: int = 100) -> ConversationOut:
    with get_database().transaction(read_only=True) as session:
        customer = _customer(session, client)
        rows = (
            tickets.customer_conversation(
                session, customer.id, _channels_for(client), after_id=after_id, limit=limit
            )
            if customer is not None
            else []
        )
        # "Read" without a per-message write: an agent who answered has read what came before (a bot's
        # or the system's automatic message is no sign that a person has).
        answered: dict[int, int] = {}
        for row in rows:
            if row.author_kind is AuthorKind.AGENT:
                answered[row.ticket_id] = max(answered.get(row.ticket_id, 0), row.id)
        names: dict[int, str] = {}
        messages = [
            message_out(session, row, answered_up_to=answered.get(row.ticket_id, 0), names=names)
            for row in rows
        ]
        ask_contact = customer is not None and _asks_contact(session, customer)
        waiting = waiting_notice(session, customer) if customer is not None else None
    return ConversationOut(
        site=SiteInfo(name=client.site.name, greeting=client.site.greeting),
        channel=client.channel.value,
        visitor_id=client.visitor_id,
        visitor_token=client.issued_token,
        verified=client.verified,
        messages=messages,
        ask_contact=ask_contact,
        waiting=waiting,
    )


def waiting_for(client: ChatClient) -> WaitingOut | None:
    """The caller's waiting notice now (the socket re-reads it whenever a routed queue moves)."""
    with get_database().transaction(read_only=True) as session:
        customer = _customer(session, client)
        return waiting_notice(session, customer) if customer is not None else None


def waiting_notice(session: Session, customer: Customer) -> WaitingOut | None:
    """The visitor's place in the queue and the expected wait, from routing (``queue_position``,
    ``expected_wait``); None when their ticket is not waiting for a person. Without a basis for the
    wait it says so instead of inventing a number, and it tells the visitor they may leave."""
    ticket = tickets.open_ticket_for_customer(session, customer.id)
    if ticket is None:
        return None
    position = routing.queue_position(session, ticket.id)
    if position is None:
        return None
    wait = routing.expected_wait(session, ticket.id)
    minutes = max(1, math.ceil(wait.total_seconds() / 60)) if wait is not None else None
    email = next((i.value for i in customer.identities if i.kind is IdentityKind.EMAIL), None)
    if minutes is None:
        text = f"You are number {position} in the queue; an agent will be with you as soon as possible."
    else:
        unit = "minute" if minutes == 1 else "minutes"
        text = f"You are number {position} in the queue, expected wait about {minutes} {unit}."
    text += (
        f" You may leave: we will answer here and by email to {email}."
        if email
        else " You may leave: we will answer here when you come back."
    )
    return WaitingOut(
        position=position, expected_wait_minutes=minutes, email_known=email is not None, text=text
    )


# --- who the visitor is, when a person is about to answer ---------------------------------------------

# A person answers the ticket from here on: routing queued it, or someone took it up (a bot handing over
# queues it too). Before that (new, with the bot) the visitor may still be served without one.
_WITH_A_PERSON = frozenset(
    {
        TicketStatus.QUEUED,
        TicketStatus.OPEN,
        TicketStatus.PENDING_CUSTOMER,
        TicketStatus.ON_HOLD,
        TicketStatus.REOPENED,
    }
)


def _anonymous(customer: Customer) -> bool:
    return not customer.name.strip() and not any(i.kind == IdentityKind.EMAIL for i in customer.identities)


def _asks_contact(session: Session, customer: Customer) -> bool:
    if not _anonymous(customer):
        return False
    ticket = tickets.open_ticket_for_customer(session, customer.id)
    return ticket is not None and (ticket.status in _WITH_A_PERSON or ticket.assignee_id is not None)


def asks_contact(client: ChatClient) -> bool:
    """Whether the widget should ask this visitor for a name and email now (see ``ConversationOut``)."""
    with get_database().transaction(read_only=True) as session:
        customer = _customer(session, client)
        return customer is not None and _asks_contact(session, customer)


def save_contact(client: ChatClient, data: ContactIn) -> ContactOut:
    """Note the name and email an anonymous visitor gave on their own customer record.

    The email becomes an *unverified* identity, and only when no other customer holds it: typing an
    address proves nothing, so it never merges this visitor into the customer who owns it (nor shows
    them that customer's conversation). A claimed address that is someone else's is written on the
    ticket's timeline for an agent to judge; the visitor gets the same answer either way.
    """
    email = customers.normalise_identity(IdentityKind.EMAIL, data.email) if data.email else ""
    if not data.name and not email:
        raise ValidationFailedError("Tell us your name, your email address, or both.")

    def store(session: Session) -> ContactOut:
        customer = _customer(session, client)
        if customer is None:
            raise ConflictError("Send your message first; then tell us who you are.")
        given: dict[str, Any] = {}
        if data.name and not customer.name.strip():
            # A name the visitor typed for themselves; one we already had (a signed-in user's) stays.
            customers.update_customer(session, customer.id, CustomerUpdate(name=data.name))
            given["name"] = data.name
        if email:
            holder = customers.find_by_identity(session, IdentityKind.EMAIL, email)
            if holder is None:
                customers.add_identity(session, customer, IdentityIn(kind=IdentityKind.EMAIL, value=email))
                given["email"] = email
            elif holder.id != customer.id:
                given["claimed_email"] = email
                given["email_belongs_to_customer_id"] = holder.id
        ticket = tickets.open_ticket_for_customer(session, customer.id)
        if ticket is not None and given:
            tickets.record_event(
                session,
                ticket,
                "customer.contact_given",
                tickets.Actor(AuthorKind.CUSTOMER, customer.id),
                {"via": "chat", **given},
            )
        return ContactOut(name=customer.name, ask_contact=_asks_contact(session, customer))

    return in_intake_transaction(store)


# --- messages in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    sent: SentOut
    ticket_id: int
    customer_id: int
    identity_kind: str
    identity_value: str


def check_size(body: str) -> None:
    limit = get_settings().chat_max_message_chars
    if len(body) > limit:
        raise PayloadTooLargeError(
            f"The message is {len(body)} characters long; the limit is {limit}. Split it into parts."
        )


def _inbound(client: ChatClient, data: ChatMessageIn) -> InboundMessage:
    first_line = data.body.strip().splitlines()[0] if data.body.strip() else ""
    return InboundMessage(
        channel=client.channel,
        identity_kind=client.identity_kind,
        identity_value=client.identity_value,
        identity_verified=client.verified,
        # A signed-in user proved the user id by its hash; an anonymous visitor holds the signed token
        # of this very visitor id, so either way the conversation is the caller's own.
        identity_proven=True,
        text=data.body,
        subject=first_line[:120],
        # Scoped by who wrote it: one visitor's client id can never collide with another's message.
        provider_message_id=f"{client.identity_value}:{data.client_id}",
        meta={"client_id": data.client_id, "visitor_id": client.visitor_id, "site": client.site.public_key},
    )


def _link_visitor(session: Session, client: ChatClient, customer_id: int) -> None:
    # A signed-in user keeps their visitor id as a chat identity too, so the articles suggested to
    # them before they wrote (keyed by visitor id) link to the ticket that follows.
    customer = customers.get_customer(session, customer_id)
    # Held by another record (a merge candidate) is fine: the external id is what counts.
    with contextlib.suppress(ConflictError):
        customers.add_identity(
            session, customer, IdentityIn(kind=IdentityKind.CHAT_VISITOR, value=client.visitor_id)
        )


def receive_message(client: ChatClient, data: ChatMessageIn) -> Received:
    """Store one visitor message (once per client id) and return it as the widget shows it."""
    check_size(data.body)
    inbound = _inbound(client, data)

    def store(session: Session) -> tuple[IntakeResult, ChatMessageOut]:
        # A resend racing its original: a second try (see in_intake_transaction) finds the stored one.
        result = ingest(session, inbound)
        if client.verified and not result.duplicate:
            _link_visitor(session, client, result.customer_id)
        return result, message_out(session, result.message)

    result, out = in_intake_transaction(store)
    return Received(
        SentOut(message=out, duplicate=result.duplicate),
        result.ticket_id,
        result.customer_id,
        client.identity_kind.value,
        client.identity_value,
    )
