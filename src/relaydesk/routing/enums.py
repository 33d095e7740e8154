"""Enumerations of the routing domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OfferState", "RoutingMode"]


class OfferState(StrEnum):
    OFFERED = "offered"  # open: the agent may accept or decline until ``expires_at``
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # nobody answered in time
    CANCELLED = "cancelled"  # the ticket was taken another way (pulled, reassigned, closed)


class RoutingMode(StrEnum):
    OFFER = "offer"  # push an offer the agent accepts or declines
    ASSIGN = "assign"  # assign straight away to the best eligible agent
