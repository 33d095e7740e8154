"""Parsing of the help center's contact form: the submitted fields into an ``InboundMessage``, or the
mistake to show the customer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from relaydesk.channels.base import InboundMessage
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.service import normalise_identity
from relaydesk.kit.errors import ValidationFailedError
from relaydesk.tickets.enums import Channel

__all__ = [
    "SUGGESTION_SESSION_META",
    "TOKEN_PATTERN",
    "ContactForm",
    "FormMistakeError",
    "parse_contact_form",
]

# The form's one-time submission id and the suggestion session's public id have this shape.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,40}$"
# The message meta key naming the suggestion session the customer had open while typing; deflection's
# inbound step (``deflection.link_ticket``) links that session to the ticket.
SUGGESTION_SESSION_META = "suggestion_session"


class FormMistakeError(Exception):
    """What the customer must fix; the form is shown again with it and with what they typed."""


@dataclass(frozen=True)
class ContactForm:
    email: str
    question: str
    submission_id: str
    name: str = ""
    subject: str = ""
    session_id: str = ""


def parse_contact_form(form: ContactForm) -> InboundMessage:
    try:
        address = normalise_identity(IdentityKind.EMAIL, form.email)
    except ValidationFailedError:
        raise FormMistakeError("Please enter an email address we can answer you at.") from None
    if not form.question.strip():
        raise FormMistakeError("Please describe your question.")
    meta = {SUGGESTION_SESSION_META: form.session_id} if re.match(TOKEN_PATTERN, form.session_id) else {}
    return InboundMessage(
        channel=Channel.WEB_FORM,
        identity_kind=IdentityKind.EMAIL,
        identity_value=address,
        # Anyone can type any address into the form: a new ticket, never someone's open one.
        identity_proven=False,
        text=form.question.strip(),
        # The form's one-time id: a double submit (or a browser retry) is the same message.
        provider_message_id=f"contact-form:{form.submission_id}",
        display_name=form.name.strip(),
        subject=form.subject.strip(),
        meta=meta,
    )
