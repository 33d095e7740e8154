"""Vocabulary of SLA: part of its public surface (other domains import it from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ClockState", "SlaTarget"]


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"
    # Internal: the level a ticket was escalated to acknowledges it.
    ACKNOWLEDGEMENT = "acknowledgement"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # pending on the customer, or on hold
    AT_RISK = "at_risk"  # the at-risk share of the target has elapsed
    BREACHED = "breached"  # past due (kept when it is fulfilled late: completed_at says when)
    MET = "met"  # fulfilled in time
    # Nothing left to fulfil: the ticket was resolved or closed while this clock (a next response, a
    # periodic update) still ran, or the matching policy no longer has this target.
    CANCELLED = "cancelled"
