"""Vocabulary of the escalation domain (public: other domains import it from here).

The ladder itself (frontline → tier 2 → team lead → expert → manager → legal) is the tickets domain's
``EscalationLevel``: a ticket carries its level; this domain moves it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AckState", "EscalationMove"]


class EscalationMove(StrEnum):
    UP = "up"  # to a higher level of the path (the next one, or a named one)
    SIDEWAYS = "sideways"  # functional escalation: the same level, another team
    DOWN = "down"  # de-escalation: back to a lower level, with a note


class AckState(StrEnum):
    """Where an escalation's acknowledgement stands."""

    AWAITING = "awaiting"  # the receiving level has not picked it up yet (at most one per ticket)
    ACKNOWLEDGED = "acknowledged"
    SUPERSEDED = "superseded"  # a later move (further up, sideways, back down) came before the pickup
    NOT_NEEDED = "not_needed"  # a de-escalation: the work goes back to people who know it
