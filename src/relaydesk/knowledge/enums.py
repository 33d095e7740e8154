"""Enumerations of the knowledge domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ArticleStatus", "Visibility"]


class Visibility(StrEnum):
    PUBLIC = "public"  # help center and customer-facing suggestions
    INTERNAL = "internal"  # agents only: never on a public page or in a customer suggestion


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
