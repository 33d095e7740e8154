"""Enumerations of the customers domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CustomerTier", "IdentityKind"]


class CustomerTier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT_VISITOR = "chat_visitor"
    APP_USER = "app_user"
    SOCIAL = "social"
    EXTERNAL_ID = "external_id"
