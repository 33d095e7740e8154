"""The order in which an inbound customer message is handled, and where other domains plug in.

``triage.process_inbound`` (enqueued by intake for every stored customer message) runs:

1. an answer to a question the bot asked for missing details goes to that loop and stops here;
2. the registered steps in their order: flags (10), deflection (20), bot (30) — each may ``HOLD``
   the ticket (articles offered, a bot flow running); the holder later calls
   ``jobs.enqueue(session, "triage.triage_ticket", ticket_id=…)`` to resume;
3. triage of a new ticket (first customer message), which sets category, team, priority and language;
4. missing information for the category (a job the category change enqueues), then routing.

A step is ``fn(session, ticket, message) -> StepOutcome`` registered with
``@inbound_step("deflection.suggest", order=20)``; it runs in the job's transaction and must be
idempotent like every job.

A flag step may freeze automation on a ticket (escalation's phrase rules on a legal threat): it adds
``BOT_FROZEN_FLAG``; every step that answers automatically (deflection's articles, bot flows) checks
``bot_frozen(ticket)`` first and stays silent, also on a ticket at the legal level. Removing the flag
(an agent's edit) lets automatic answers resume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy.orm import Session

from relaydesk.tickets.enums import EscalationLevel

if TYPE_CHECKING:
    from relaydesk.tickets.models import Message, Ticket

__all__ = ["BOT_FROZEN_FLAG", "InboundStep", "StepOutcome", "bot_frozen", "inbound_step", "registered_steps"]

# The ticket flag that keeps automatic answers off a ticket (see the module docstring).
BOT_FROZEN_FLAG = "bot_frozen"


class StepOutcome(StrEnum):
    CONTINUE = "continue"
    HOLD = "hold"  # this step owns the conversation for now; triage waits until it is resumed


# A string: the tickets models are imported for type checking only.
StepFn: TypeAlias = "Callable[[Session, Ticket, Message], StepOutcome]"


@dataclass(frozen=True)
class InboundStep:
    name: str
    order: int
    run: StepFn


_steps: dict[str, InboundStep] = {}


def inbound_step(name: str, *, order: int) -> Callable[[StepFn], StepFn]:
    """Register a step that runs before triage for every inbound customer message (lower order first)."""

    def register(fn: StepFn) -> StepFn:
        existing = _steps.get(name)
        if existing is not None and existing.run is not fn:
            raise ValueError(f"inbound step {name!r} is registered twice")
        _steps[name] = InboundStep(name, order, fn)
        return fn

    return register


def registered_steps() -> list[InboundStep]:
    return sorted(_steps.values(), key=lambda s: (s.order, s.name))


def bot_frozen(ticket: Ticket) -> bool:
    """Whether automatic answers must stay off this ticket: the bot is frozen, or legal has it."""
    return BOT_FROZEN_FLAG in ticket.flags or ticket.escalation_level == EscalationLevel.LEGAL
