"""Jobs of the deflection domain: link sessions to the ticket that followed, acknowledge new email
tickets, settle sessions whose window has passed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.deflection import service
from relaydesk.jobs import periodic
from relaydesk.kit.errors import NotFoundError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.triage.pipeline import StepOutcome, bot_frozen, inbound_step

if TYPE_CHECKING:
    from relaydesk.tickets.models import Message, Ticket

__all__ = ["link_ticket", "settle_expired"]

log = logging.getLogger("relaydesk.deflection")


# The automatic answer to the message that opens a ticket, per channel.
_FIRST_ANSWER = {
    Channel.EMAIL: service.acknowledge_email,
    Channel.WEB_CHAT: service.answer_chat,
    Channel.IN_APP: service.answer_chat,
}


@inbound_step("deflection.link_ticket", order=20)
def link_ticket(session: Session, ticket: Ticket, message: Message) -> StepOutcome:
    """Every stored customer message (a step of ``triage.process_inbound``): escalate the sessions it
    follows, acknowledge a new email ticket (with articles when search is confident) and give a new chat
    ticket the bot's first answer (articles, only when search is confident)."""
    service.link_contact(session, message)
    _link_named_session(session, ticket, message)
    answer = _FIRST_ANSWER.get(ticket.channel)
    # Only the message that opened the ticket is answered automatically, and never on a ticket whose
    # bot a phrase rule froze (a legal threat): a person answers it, not articles.
    if bot_frozen(ticket):
        return StepOutcome.CONTINUE
    if answer is not None and tickets.first_message_id(session, ticket.id) == message.id:
        answer(session, message)
    return StepOutcome.CONTINUE


# The contact form (channels.web_form) names the session the customer had open while typing.
_NAMED_SESSION_META = "suggestion_session"


def _link_named_session(session: Session, ticket: Ticket, message: Message) -> None:
    """A customer message that names its suggestion session (the contact form's) escalates that session,
    whoever typed in it: the customer had it open when they wrote."""
    public_id = message.meta.get(_NAMED_SESSION_META)
    if message.author_kind is not AuthorKind.CUSTOMER or not isinstance(public_id, str):
        return
    try:
        row = service.get_session(session, public_id)
    except NotFoundError:
        return  # gone, or never was: the ticket stands without it
    service.link_session_to_ticket(session, row, ticket)


@periodic("deflection.settle_expired", every=timedelta(minutes=15))
def settle_expired(session: Session) -> None:
    deflected, escalated = service.settle_expired(session)
    if deflected or escalated:
        log.info("deflection sessions settled: %d without a ticket, %d escalated", deflected, escalated)
