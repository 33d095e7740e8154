"""Suggestion sessions and their outcomes.

A *suggestion session* is one customer trying self-service before (or instead of) contacting support:
the queries they typed, the articles suggested with their scores, what they did with them, and how it
ended. Outcomes (see README for the rules):

pending ──"solved"──► deflected_confirmed ──ticket within the window──► escalated
   │                         (a ticket always wins over a click: the click did not solve it)
   ├──ticket within the window──► escalated
   └──window passes, no ticket──► deflected_no_ticket (or escalated when the session already has one)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.deflection.enums import ArticleFeedback, SessionOutcome, SessionSource
from relaydesk.deflection.models import SuggestedArticle, SuggestionQuery, SuggestionSession
from relaydesk.deflection.repository import DeflectionRepository
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.time import utcnow
from relaydesk.knowledge import service as knowledge
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, TicketStatus
from relaydesk.tickets.schemas import MessageCreate, StatusChange

if TYPE_CHECKING:
    from relaydesk.knowledge.service import SearchResult, Suggestion
    from relaydesk.tickets.models import Message, Ticket

__all__ = [
    "SuggestRequest",
    "SuggestResponse",
    "acknowledge_email",
    "answer_chat",
    "get_session",
    "is_holdout",
    "link_contact",
    "link_session_to_ticket",
    "open_help_center_visit",
    "record_feedback",
    "sessions_for_ticket",
    "settle_expired",
    "suggest",
    "suggest_for_ticket",
    "window",
]

log = logging.getLogger("relaydesk.deflection")

# Identities a public visitor id can become once the visitor writes.
_VISITOR_KINDS = (IdentityKind.CHAT_VISITOR, IdentityKind.APP_USER)
_CHAT_CHANNELS = (Channel.WEB_CHAT, Channel.IN_APP)
# A query that extends or trims the previous one within this time is the customer still typing.
_STILL_TYPING = timedelta(minutes=2)
_SAME_VISIT = timedelta(minutes=30)  # typing this long before a chat message led to it (answer_chat)


def window() -> timedelta:
    return timedelta(days=get_settings().deflection_window_days)


def is_holdout(public_id: str, share: float | None = None) -> bool:
    """Deterministic per session: the same session id always lands in the same arm."""
    share = get_settings().deflection_holdout_share if share is None else share
    if share <= 0:
        return False
    digest = hashlib.sha256(f"deflection-holdout:{public_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True)
class SuggestRequest:
    query: str
    channel: Channel
    source: SessionSource = SessionSource.PUBLIC_API
    locale: str | None = None
    session_id: str | None = None
    visitor_id: str | None = None
    # Trusted callers only (bot, email acknowledgement, contact form): never from a public request.
    customer_id: int | None = None
    ticket_id: int | None = None
    limit: int = 3


@dataclass
class SuggestResponse:
    session: SuggestionSession
    holdout: bool
    abstained: bool
    suggestions: list[Suggestion] = field(default_factory=list)


def _search(session: Session, query: str, locale: str | None, limit: int) -> SearchResult:
    return knowledge.search(session, query, locale=locale, audience="customer", limit=limit)


def _new_session(session: Session, request: SuggestRequest) -> SuggestionSession:
    public_id = secrets.token_urlsafe(18)
    customer_id = request.customer_id
    if customer_id is None and request.visitor_id:
        known = customers.find_by_identity(session, IdentityKind.CHAT_VISITOR, request.visitor_id)
        customer_id = known.id if known is not None else None
    now = utcnow()
    row = SuggestionSession(
        public_id=public_id,
        channel=request.channel,
        source=request.source,
        locale=request.locale,
        visitor_id=request.visitor_id,
        customer_id=customer_id,
        ticket_id=request.ticket_id,
        holdout=request.source is not SessionSource.HELP_CENTER and is_holdout(public_id),
        abstained=True,
        outcome=SessionOutcome.PENDING,
        created_at=now,
        last_activity_at=now,
        # Known empty: without them, reading either collection after the flush costs a SELECT.
        queries=[],
        articles=[],
    )
    session.add(row)
    session.flush()
    return row


def get_session(session: Session, public_id: str) -> SuggestionSession:
    row = DeflectionRepository(session).by_public_id(public_id)
    if row is None:
        raise NotFoundError(f"No suggestion session {public_id!r}; leave session_id out to start a new one.")
    return row


def _open_session(session: Session, request: SuggestRequest) -> SuggestionSession:
    if request.session_id is None:
        return _new_session(session, request)
    row = get_session(session, request.session_id)
    # A settled session (solved, escalated, expired) is a finished question: typing again starts a
    # new one rather than rewriting an outcome the reports already counted.
    if row.outcome is not SessionOutcome.PENDING or utcnow() - row.last_activity_at > window():
        return _new_session(session, request)
    if row.visitor_id is None and request.visitor_id:
        row.visitor_id = request.visitor_id
    return row


def open_help_center_visit(session: Session, visitor_id: str) -> str | None:
    """The public id of the help-center session this visitor is in the middle of (searched within the
    last half hour, not settled): a reload or a search typed again continues it instead of counting
    one person's question as several sessions."""
    row = DeflectionRepository(session).open_visit(
        visitor_id, SessionSource.HELP_CENTER, utcnow() - _SAME_VISIT
    )
    return row.public_id if row is not None else None


def _record_query(row: SuggestionSession, text: str, result: SearchResult) -> SuggestionQuery:
    now = utcnow()
    top = max((s.score for s in result.suggestions), default=None)
    last = row.queries[-1] if row.queries else None
    if last is not None and now - last.created_at < _STILL_TYPING:
        before, after = last.text.casefold(), text.casefold()
        if after.startswith(before) or before.startswith(after):
            # Debounced keystrokes of one question: keep the latest wording, not every prefix.
            last.text, last.abstained, last.top_score = text[:1000], result.abstained, top
            return last
    query = SuggestionQuery(text=text[:1000], abstained=result.abstained, top_score=top, created_at=now)
    row.queries.append(query)
    return query


def suggest(session: Session, request: SuggestRequest) -> SuggestResponse:
    """Search, record the query and the articles in the customer's session, and answer what to show."""
    row = _open_session(session, request)
    result = _search(session, request.query, request.locale, request.limit)
    query = _record_query(row, request.query, result)
    session.flush()
    shown = {a.article_id: a for a in row.articles}
    if not result.abstained:
        row.abstained = False
        added = False
        for rank, suggestion in enumerate(result.suggestions, start=1):
            existing = shown.get(suggestion.article_id)
            if existing is not None:
                existing.score = max(existing.score, suggestion.score)
                continue
            article = SuggestedArticle(
                session_id=row.id,
                article_id=suggestion.article_id,
                query_id=query.id,
                title=suggestion.title[:500],
                url=suggestion.url[:1000],
                score=float(suggestion.score),
                rank=rank,
                displayed=not row.holdout,
                created_at=utcnow(),
            )
            try:
                # Two requests of one session racing (a widget that does not wait for the previous
                # answer) may both add the article: the second one keeps the first one's row.
                with session.begin_nested():
                    session.add(article)
                added = True
            except IntegrityError:
                continue
        if added:
            session.expire(row, ["articles"])
    row.last_activity_at = utcnow()
    session.flush()
    visible = [] if row.holdout or result.abstained else list(result.suggestions)
    return SuggestResponse(row, row.holdout, result.abstained, visible)


def _resolve_by_customer(session: Session, row: SuggestionSession) -> None:
    """The customer said an article of an automatic answer (email acknowledgement, the bot's first chat
    answer) solved it: their ticket is resolved."""
    if row.ticket_id is None or row.source not in (SessionSource.EMAIL_ACK, SessionSource.BOT):
        return
    ticket = tickets.get_ticket(session, row.ticket_id)
    if ticket is None or ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return
    # A status the machine cannot resolve from (e.g. an agent put it on hold): the agent decides.
    with contextlib.suppress(ConflictError):
        tickets.change_status(
            session,
            ticket,
            StatusChange(
                status=TicketStatus.RESOLVED, reason="the customer said a suggested article solved it"
            ),
            tickets.Actor(AuthorKind.CUSTOMER, ticket.customer_id),
        )


def record_feedback(session: Session, public_id: str, article_id: int, outcome: str) -> SuggestionSession:
    """ "viewed", "solved" or "not_helpful" for an article suggested in this session."""
    row = get_session(session, public_id)
    article = next((a for a in row.articles if a.article_id == article_id and a.displayed), None)
    if article is None:
        raise ValidationFailedError(
            f"Article {article_id} was not suggested in session {public_id!r}; "
            "send feedback only for articles the session returned.",
            details=[{"field": "article_id", "message": "not suggested in this session"}],
        )
    now = utcnow()
    row.last_activity_at = now
    if outcome == "viewed":
        article.viewed_at = article.viewed_at or now
        session.flush()
        return row
    article.feedback = ArticleFeedback(outcome)
    article.feedback_at = now
    if row.source is SessionSource.BOT:
        _note_on_bot_answer(session, row, article_id, outcome)
    if outcome == "solved":
        article.viewed_at = article.viewed_at or now
    said_solved = any(a.feedback is ArticleFeedback.SOLVED for a in row.articles)
    if row.outcome is SessionOutcome.ESCALATED:
        # A ticket already followed: the click is kept on the article, the outcome stays honest.
        pass
    elif said_solved:
        if row.outcome is not SessionOutcome.DEFLECTED_CONFIRMED:
            row.outcome, row.confirmed_at, row.outcome_at = SessionOutcome.DEFLECTED_CONFIRMED, now, now
            _resolve_by_customer(session, row)
    elif row.outcome is SessionOutcome.DEFLECTED_CONFIRMED:
        # The customer took back their only "solved": the question is open again.
        row.outcome, row.confirmed_at, row.outcome_at = SessionOutcome.PENDING, None, None
    session.flush()
    return row


def _note_on_bot_answer(session: Session, row: SuggestionSession, article_id: int, outcome: str) -> None:
    """Keep the customer's answer on the bot's chat message too, so the widget shows it after a reload."""
    ticket = tickets.get_ticket(session, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        return
    for message in tickets.list_messages(session, ticket):
        if message.author_kind is AuthorKind.BOT and message.meta.get("deflection_session") == row.public_id:
            answers = {**message.meta.get("deflection_feedback", {}), str(article_id): outcome}
            tickets.update_message_meta(session, message, {"deflection_feedback": answers})


def link_session_to_ticket(session: Session, row: SuggestionSession, ticket: Ticket) -> None:
    """The customer contacted support after trying self-service: the session escalated to this ticket."""
    row.ticket_id = ticket.id
    row.customer_id = ticket.customer_id
    if row.outcome is not SessionOutcome.ESCALATED:
        row.outcome, row.outcome_at = SessionOutcome.ESCALATED, utcnow()
    session.flush()


def link_contact(session: Session, message: Message) -> int:
    """Escalate the sessions this customer message follows; returns how many were linked."""
    if message.author_kind is not AuthorKind.CUSTOMER:
        return 0
    ticket = tickets.get_ticket(session, message.ticket_id)
    if ticket is None:
        return 0
    customer = customers.get_customer(session, ticket.customer_id)
    visitor_ids = [i.value for i in customer.identities if i.kind in _VISITOR_KINDS]
    rows = DeflectionRepository(session).linkable_for_contact(
        customer_id=customer.id,
        visitor_ids=visitor_ids,
        ticket_id=ticket.id,
        active_since=message.created_at - window(),
        before=message.created_at,
    )
    for row in rows:
        link_session_to_ticket(session, row, ticket)
    return len(rows)


def settle_expired(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Settle pending sessions whose window has passed; returns (deflected_no_ticket, escalated)."""
    now = now or utcnow()
    return DeflectionRepository(session).settle_pending(inactive_before=now - window(), now=now)


def _absolute(url: str) -> str:
    return get_settings().base_url.rstrip("/") + url if url.startswith("/") else url


def acknowledge_email(session: Session, message: Message) -> SuggestionSession | None:
    """Acknowledge a new email ticket, with the top articles when search is confident.

    The acknowledgement is a public system message on the ticket; the outbox sends it over email.
    Once per ticket, however often the job runs.
    """
    ticket = tickets.get_ticket(session, message.ticket_id)
    if ticket is None or ticket.channel is not Channel.EMAIL or ticket.status is TicketStatus.CLOSED:
        return None
    if message.meta.get("auto_submitted"):
        return None  # never answer automatic mail (loops)
    repo = DeflectionRepository(session)
    if repo.email_ack_for_ticket(ticket.id) is not None:
        return None
    query = " ".join(f"{ticket.subject}\n{message.body_text}".split())[:500] or "(no text)"
    request = SuggestRequest(
        query=query,
        channel=Channel.EMAIL,
        source=SessionSource.EMAIL_ACK,
        locale=ticket.language,
        customer_id=ticket.customer_id,
        ticket_id=ticket.id,
    )
    try:
        with session.begin_nested():
            result = suggest(session, request)
    except Exception:
        # Search broken (e.g. the embedding model missing): the customer still gets their
        # acknowledgement, without articles, rather than none after the job's retries run out.
        log.exception(
            "search failed for the acknowledgement of ticket %s; sending it without articles", ticket.id
        )
        result = SuggestResponse(_new_session(session, request), holdout=False, abstained=True)
    row = result.session
    customer = customers.get_customer(session, ticket.customer_id)
    lines = [
        f"Hello{' ' + customer.name if customer.name else ''},",
        "",
        f"Thank you for writing to us. We have received your message (ticket #{ticket.id}) "
        "and a member of our team will answer you.",
    ]
    if result.suggestions:
        lines += ["", "While you wait, these articles may already answer your question:", ""]
        for n, suggestion in enumerate(result.suggestions, start=1):
            feedback = _absolute(f"/help/feedback/{row.public_id}?article_id={suggestion.article_id}")
            lines += [
                f"{n}. {suggestion.title}",
                f"   {_absolute(suggestion.url)}",
                f"   Did this solve your problem? Tell us here: {feedback}",
                "",
            ]
        lines.append("If one of them solved it, tell us through its link and we will close your ticket.")
    lines += ["", "Kind regards,", "Customer support"]
    # For the outbound layer: an automatic reply (RFC 3834 "Auto-Submitted: auto-replied").
    meta = {"auto_acknowledgement": True, "deflection_session": row.public_id}
    _automatic_reply(session, ticket, lines, Channel.EMAIL, AuthorKind.SYSTEM, meta)
    return row


def _automatic_reply(
    session: Session,
    ticket: Ticket,
    lines: list[str],
    channel: Channel,
    author: AuthorKind,
    meta: dict[str, Any],
) -> Message:
    """A public message on the ticket from no agent (the acknowledgement, the bot), with its ``meta``."""
    message = tickets.add_agent_message(
        session,
        ticket,
        MessageCreate(body="\n".join(lines), public=True, channel=channel),
        None,
        author_kind=author,
    )
    tickets.update_message_meta(session, message, meta)
    return message


def sessions_for_ticket(session: Session, ticket_id: int) -> list[SuggestionSession]:
    return list(DeflectionRepository(session).for_ticket(ticket_id))


def suggest_for_ticket(session: Session, ticket: Ticket, query: str, *, limit: int = 3) -> SuggestResponse:
    """Hook for the bot's first answer: suggestions recorded in a session linked to the ticket.

    The bot shows ``response.suggestions``, records the customer's answer with ``record_feedback``
    (a "solved" confirms the deflection) and, on handoff to a person, calls
    ``link_session_to_ticket`` to mark the session escalated. Customer replies in the same
    conversation do not escalate it on their own; an unsettled one escalates when the window passes.
    """
    return suggest(
        session,
        SuggestRequest(
            query=query,
            channel=ticket.channel,
            source=SessionSource.BOT,
            locale=ticket.language,
            customer_id=ticket.customer_id,
            ticket_id=ticket.id,
            limit=limit,
        ),
    )


def answer_chat(session: Session, message: Message) -> SuggestionSession | None:
    """The bot's first answer on a new web chat or in-app ticket: the top articles when search is
    confident, as a public bot message whose ``meta`` carries them and their session for the widget's
    "this solved my problem" buttons (a "solved" resolves the ticket). Nothing is sent when search
    abstains, or when the customer already went through suggestions for this question as they typed
    (a session active in the half hour before, linked to this ticket by then): showing them again
    would make them read the same articles twice, count one contact as two sessions, and show a
    holdout customer what the holdout keeps from them. Once per ticket, however often the job runs.
    """
    ticket = tickets.get_ticket(session, message.ticket_id)
    if ticket is None or ticket.channel not in _CHAT_CHANNELS or ticket.status is TicketStatus.CLOSED:
        return None
    repo = DeflectionRepository(session)
    if repo.automatic_for_ticket(ticket.id, SessionSource.BOT) is not None:
        return None
    # The typing that led to this message (the same visit), not an older question the window also links.
    visit_start = message.created_at - _SAME_VISIT
    if any(row.last_activity_at >= visit_start for row in repo.for_ticket(ticket.id)):
        return None
    query = " ".join(message.body_text.split())[:500]
    if not query:
        return None
    try:
        with session.begin_nested():
            result = suggest_for_ticket(session, ticket, query)
    except Exception:
        # Search broken: the conversation goes on to a person without the bot's answer.
        log.exception("search failed for the bot's first answer on ticket %s", ticket.id)
        return None
    row = result.session
    if not result.suggestions:
        return row
    lines = ["These articles may answer your question:", ""]
    lines += [f"{n}. {s.title}: {_absolute(s.url)}" for n, s in enumerate(result.suggestions, start=1)]
    lines += ["", "If one of them solves it, tell us; otherwise a person will answer you here."]
    articles = [
        {"article_id": s.article_id, "title": s.title, "url": s.url, "snippet": s.snippet}
        for s in result.suggestions
    ]
    meta = {"deflection_session": row.public_id, "deflection_articles": articles}
    _automatic_reply(session, ticket, lines, ticket.channel, AuthorKind.BOT, meta)
    return row
