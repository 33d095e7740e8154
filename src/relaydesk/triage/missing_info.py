"""The missing-information loop: ask the customer on their channel for what the category needs.

When a ticket's category requires fields (an order number for a delivery problem) that the customer's
messages do not contain, the bot asks on the customer's channel and the ticket waits on them. Each
answer is checked (format, and a lookup where configured); valid values land in the ticket's custom
fields, and the ticket goes on to routing once nothing is missing. After ``max_asks`` answers that do
not validate, a person takes over. The loop's own state (what was asked, how often, how it ended) is
triage's: one ``missing_info_requests`` row per ticket, never the customer's custom fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.commerce import service as commerce
from relaydesk.kit.time import utcnow
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, QueueKind, TicketStatus
from relaydesk.tickets.schemas import MessageCreate, StatusChange
from relaydesk.triage.models import MissingInfoRequest
from relaydesk.triage.policy import FieldSpec, RequiredFieldsPolicy, required_fields_policy
from relaydesk.triage.repository import TriageRepository
from relaydesk.triage.service import mark_ready_for_routing

if TYPE_CHECKING:
    from relaydesk.tickets.models import Message, Ticket

__all__ = ["InfoState", "awaits_answer", "check_required_fields", "collect_from_reply", "extract_fields"]

BOT = tickets.Actor(AuthorKind.BOT)
_SETTLED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class InfoState(StrEnum):
    COMPLETE = "complete"  # nothing missing: route it
    ASKED = "asked"  # the customer was asked; the ticket waits on them
    HANDED_OVER = "handed_over"  # answers kept failing; a person takes it
    NOT_APPLICABLE = "not_applicable"  # no policy, or no category yet


@dataclass(frozen=True)
class _Found:
    values: dict[str, str]
    invalid: dict[str, str]  # field -> why a candidate was refused


def _candidates(spec: FieldSpec, text: str) -> list[str]:
    found = []
    for match in re.finditer(spec.pattern, text, flags=re.IGNORECASE):
        found.append((match.group(1) if match.groups() else match.group(0)).strip())
    return found


def _passes_lookup(session: Session, spec: FieldSpec, value: str, customer_id: int) -> bool:
    if spec.lookup == "commerce.order_number":
        return commerce.customer_has_order(session, customer_id, value)
    return True


def extract_fields(session: Session, specs: dict[str, FieldSpec], text: str, customer_id: int) -> _Found:
    values: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for name, spec in specs.items():
        candidates = _candidates(spec, text)
        valid = [c for c in candidates if _passes_lookup(session, spec, c, customer_id)]
        if valid:
            values[name] = valid[0]
        elif candidates:
            invalid[name] = f"{candidates[0]} was not found" if spec.lookup else "not in the expected format"
    return _Found(values, invalid)


def _missing(policy: RequiredFieldsPolicy, ticket: Ticket) -> dict[str, FieldSpec]:
    names = policy.categories.get(ticket.category or "", [])
    return {name: policy.fields[name] for name in names if name not in ticket.custom_fields}


def _store(session: Session, ticket: Ticket, values: dict[str, str], source_message_id: int | None) -> None:
    if not values:
        return
    tickets.add_custom_fields(session, ticket, values)
    tickets.record_event(
        session, ticket, "triage.fields_collected", BOT, {"fields": values, "message_id": source_message_id}
    )


def _ask(
    session: Session, ticket: Ticket, missing: dict[str, FieldSpec], *, asks: int, hint: str = ""
) -> None:
    questions = " ".join(spec.question for spec in missing.values())
    tickets.add_agent_message(
        session,
        ticket,
        MessageCreate(body=(hint + " " + questions).strip(), public=True),
        None,
        author_kind=AuthorKind.BOT,
    )
    _note_asked(session, ticket, sorted(missing), asks)
    tickets.record_event(
        session, ticket, "triage.info_requested", BOT, {"fields": sorted(missing), "asks": asks}
    )
    if ticket.status is not TicketStatus.PENDING_CUSTOMER:
        tickets.change_status(
            session,
            ticket,
            StatusChange(
                status=TicketStatus.PENDING_CUSTOMER, reason="waiting for details from the customer"
            ),
            BOT,
        )


def _note_asked(session: Session, ticket: Ticket, fields: list[str], asks: int) -> None:
    request = TriageRepository(session).info_request(ticket.id)
    now = utcnow()
    if request is None:
        session.add(
            MissingInfoRequest(
                ticket_id=ticket.id, fields=fields, asks=asks, first_asked_at=now, last_asked_at=now
            )
        )
    else:
        if request.finished_at is not None:  # a later category needs other details: a new round
            request.first_asked_at, request.finished_at, request.outcome = now, None, None
        request.fields, request.asks, request.last_asked_at = fields, asks, now
    session.flush()


def _finish(session: Session, ticket: Ticket, state: InfoState) -> InfoState:
    request = TriageRepository(session).info_request(ticket.id)
    if request is not None and request.finished_at is None:
        request.finished_at, request.outcome = utcnow(), state.value
    if state is InfoState.HANDED_OVER:
        tickets.flag_ticket(session, ticket, "missing_info_unresolved", queue=QueueKind.TRIAGE)
    tickets.record_event(
        session,
        ticket,
        "triage.info_complete" if state is InfoState.COMPLETE else "triage.info_handed_over",
        BOT,
        {},
    )
    reason = "details complete" if state is InfoState.COMPLETE else "details still missing"
    mark_ready_for_routing(session, ticket, reason)
    return state


def check_required_fields(session: Session, ticket: Ticket) -> InfoState:
    """Fill what the customer already wrote; ask for the rest, or send the ticket on to routing."""
    policy = required_fields_policy()
    if policy is None or not ticket.category or ticket.category not in policy.categories:
        return InfoState.NOT_APPLICABLE
    if ticket.status in _SETTLED:
        # Categorised while being resolved (an agent tidying up): nobody should be asked any more.
        return InfoState.NOT_APPLICABLE
    missing = _missing(policy, ticket)
    if missing:
        text = "\n".join(m.body_text for m in _customer_messages(session, ticket))
        found = extract_fields(session, missing, text, ticket.customer_id)
        _store(session, ticket, found.values, None)
        missing = _missing(policy, ticket)
    if not missing:
        return _finish(session, ticket, InfoState.COMPLETE)
    _ask(session, ticket, missing, asks=1)
    return InfoState.ASKED


def collect_from_reply(session: Session, ticket: Ticket, message: Message) -> InfoState:
    """The customer answered while the bot waited: validate, store, and ask again or move on."""
    policy = required_fields_policy()
    request = _open_request(session, ticket.id)
    if policy is None or request is None:
        return InfoState.NOT_APPLICABLE
    missing = _missing(policy, ticket)
    found = extract_fields(session, missing, message.body_text, ticket.customer_id)
    _store(session, ticket, found.values, message.id)
    missing = _missing(policy, ticket)
    if not missing:
        return _finish(session, ticket, InfoState.COMPLETE)
    asks = request.asks + 1
    if asks > policy.max_asks:
        return _finish(session, ticket, InfoState.HANDED_OVER)
    hints = [_hint(spec, found.invalid.get(name)) for name, spec in missing.items()]
    _ask(session, ticket, missing, asks=asks, hint=" ".join(hints))
    return InfoState.ASKED


def awaits_answer(session: Session, ticket_id: int) -> bool:
    """Whether the bot asked this ticket's customer for details and waits for their answer."""
    return _open_request(session, ticket_id) is not None


def _open_request(session: Session, ticket_id: int) -> MissingInfoRequest | None:
    request = TriageRepository(session).info_request(ticket_id)
    return request if request is not None and request.finished_at is None else None


def _hint(spec: FieldSpec, problem: str | None) -> str:
    said = f"Sorry, {problem}" if problem else f"Sorry, I couldn't find the {spec.label} in your message"
    return f"{said} ({spec.hint})." if spec.hint else f"{said}."


def _customer_messages(session: Session, ticket: Ticket) -> list[Message]:
    return [m for m in tickets.list_messages(session, ticket) if m.author_kind == AuthorKind.CUSTOMER]
