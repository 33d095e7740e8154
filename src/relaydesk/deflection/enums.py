"""Enumerations of the deflection domain: part of its public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ArticleFeedback", "SessionOutcome", "SessionSource"]


class SessionOutcome(StrEnum):
    PENDING = "pending"
    # The customer said an article solved the problem (and no ticket followed within the window).
    DEFLECTED_CONFIRMED = "deflected_confirmed"
    # No ticket from that customer on any channel within the window.
    DEFLECTED_NO_TICKET = "deflected_no_ticket"
    # A ticket followed (or, for an email acknowledgement, the ticket stood): linked in ticket_id.
    ESCALATED = "escalated"


class SessionSource(StrEnum):
    PUBLIC_API = "public_api"  # the chat widget, in-app, any client of the public endpoint
    CONTACT_FORM = "contact_form"  # /help/contact before submit
    EMAIL_ACK = "email_ack"  # the acknowledgement of a new email ticket
    BOT = "bot"  # the bot"s first answer in chat (service.answer_chat; other bots: suggest_for_ticket)
    # The help center"s search box: the customer asked for results, so it is never in the holdout (and
    # never in the report"s treated-versus-holdout comparison, which only randomised sessions enter).
    HELP_CENTER = "help_center"


class ArticleFeedback(StrEnum):
    SOLVED = "solved"
    NOT_HELPFUL = "not_helpful"
