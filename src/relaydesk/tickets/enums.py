"""Vocabulary of a ticket, shared from table to screen."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AuthorKind",
    "Channel",
    "DeliveryState",
    "EscalationLevel",
    "Priority",
    "QueueKind",
    "TicketSort",
    "TicketStatus",
]


class TicketStatus(StrEnum):
    NEW = "new"
    BOT = "bot"
    QUEUED = "queued"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Channel(StrEnum):
    WEB_CHAT = "web_chat"
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    SOCIAL = "social"
    PHONE = "phone"
    API = "api"
    WEB_FORM = "web_form"
    INTERNAL = "internal"


class EscalationLevel(StrEnum):
    """The escalation ladder, lowest first."""

    FRONTLINE = "frontline"
    TIER2 = "tier2"
    TEAM_LEAD = "team_lead"
    EXPERT = "expert"
    MANAGER = "manager"
    LEGAL = "legal"

    @property
    def rank(self) -> int:
        return list(EscalationLevel).index(self)


class QueueKind(StrEnum):
    LIVE = "live"  # offered to an available agent at once (urgent, VIP, live chat)
    MESSAGING = "messaging"  # asynchronous: the customer can leave and come back
    TRIAGE = "triage"  # a person must classify it first
    CALLBACK = "callback"  # phone callbacks


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class DeliveryState(StrEnum):
    RECEIVED = "received"  # inbound, stored
    QUEUED = "queued"  # outbound, waiting in the outbox
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    NOT_SENT = "not_sent"  # internal notes and messages that never leave


class TicketSort(StrEnum):
    """Orders of a ticket list; each is a keyset (``TicketRepository.page``) so pages stay O(page).

    An SLA due time order is one more member here and one entry in ``repository._SORT_KEYS``."""

    NEWEST = "newest"  # the newest ticket first (the default)
    OLDEST = "oldest"  # by age: the longest waiting first
    PRIORITY = "priority"  # the most urgent first, the oldest first within a priority
