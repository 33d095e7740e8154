"""The ticket status machine: which moves are legal, and what each one stamps on the ticket."""

from __future__ import annotations

from relaydesk.kit.errors import ConflictError
from relaydesk.tickets.enums import TicketStatus as S

__all__ = ["ALLOWED_TRANSITIONS", "IllegalStatusTransitionError", "check_transition"]

_WORKING = {S.QUEUED, S.OPEN, S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED}

ALLOWED_TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.BOT, *_WORKING, S.CLOSED}),
    # A bot conversation can be deflected (resolved/closed) or handed to a person (queued/open).
    S.BOT: frozenset({S.QUEUED, S.OPEN, S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.QUEUED: frozenset({S.OPEN, S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.QUEUED, S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED}),
    S.PENDING_CUSTOMER: frozenset({S.OPEN, S.QUEUED, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.QUEUED, S.PENDING_CUSTOMER, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    # Closed is final: later contact opens a follow-up ticket, so reports of closed work never change.
    S.CLOSED: frozenset(),
    S.REOPENED: frozenset({S.QUEUED, S.OPEN, S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED}),
}


class IllegalStatusTransitionError(ConflictError):
    code = "illegal_status_transition"


def check_transition(current: S, target: S) -> None:
    if target == current:
        raise IllegalStatusTransitionError(f"The ticket is already '{current}'.")
    allowed = ALLOWED_TRANSITIONS[current]
    if target not in allowed:
        hint = (
            "Closed tickets are final; open a follow-up ticket instead."
            if current is S.CLOSED
            else f"From '{current}' it can move to: {', '.join(sorted(allowed))}."
        )
        raise IllegalStatusTransitionError(
            f"A ticket cannot move from '{current}' to '{target}'. {hint}",
            details={"from": current.value, "to": target.value, "allowed": sorted(allowed)},
        )
