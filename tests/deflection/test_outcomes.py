"""How sessions end: solved, no ticket within the window, or escalated to the ticket that followed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.customers.enums import IdentityKind
from relaydesk.deflection import service
from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.models import SuggestionSession
from relaydesk.deflection.reports import deflection_report
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import AuthorKind, Channel, TicketStatus
from relaydesk.tickets.models import Message, Ticket
from tests.deflection.conftest import SUGGEST, suggest
from tests.factories import run_jobs


def solved(client, session_id, article_id):
    response = client.post(
        f"{SUGGEST}/{session_id}/feedback", json={"article_id": article_id, "outcome": "solved"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def write_in(database, *, channel, value, text="Hello, I still need help", subject="", ticket_id=None):
    """As the adapter hands it over: chat proves its visitor; email threads by its reply token."""
    kind = IdentityKind.EMAIL if channel is Channel.EMAIL else IdentityKind.CHAT_VISITOR
    with database.transaction() as session:
        return ingest(
            session,
            InboundMessage(
                channel=channel,
                identity_kind=kind,
                identity_value=value,
                text=text,
                subject=subject,
                provider_message_id=f"{value}:{text}:{utcnow().timestamp()}",
                identity_proven=channel is not Channel.EMAIL,
                ticket_id=ticket_id,
            ),
        )


def outcome_of(database, public_id):
    with database.transaction(read_only=True) as session:
        row = session.scalar(select(SuggestionSession).where(SuggestionSession.public_id == public_id))
        return row.outcome, row.ticket_id, row.customer_id


def test_a_chat_message_after_suggestions_escalates_the_visitors_session(client, database, articles):
    body = suggest(client, "where is my parcel", visitor_id="visitor-42")
    result = write_in(database, channel=Channel.WEB_CHAT, value="visitor-42")
    run_jobs(database)
    assert outcome_of(database, body["session_id"]) == (
        SessionOutcome.ESCALATED,
        result.ticket_id,
        result.customer_id,
    )


def test_a_ticket_after_a_solved_click_wins_and_is_counted_as_such(client, database, articles):
    body = suggest(client, "I forgot my password", visitor_id="visitor-7")
    assert solved(client, body["session_id"], articles["password"])["outcome"] == "deflected_confirmed"
    write_in(database, channel=Channel.WEB_CHAT, value="visitor-7")
    run_jobs(database)
    assert outcome_of(database, body["session_id"])[0] is SessionOutcome.ESCALATED
    with database.transaction(read_only=True) as session:
        report = deflection_report(session)
    assert report.all.escalated == 1 and report.all.deflected_confirmed == 0
    assert report.all.confirmed_then_escalated == 1
    # Typing again after the escalation opens a new session rather than rewriting the counted one.
    assert (
        suggest(client, "reset password", session_id=body["session_id"])["session_id"] != body["session_id"]
    )


def test_a_ticket_from_another_customer_links_nothing(client, database, articles):
    body = suggest(client, "where is my parcel", visitor_id="visitor-a")
    write_in(database, channel=Channel.WEB_CHAT, value="visitor-b")
    run_jobs(database)
    assert outcome_of(database, body["session_id"]) == (SessionOutcome.PENDING, None, None)


def test_a_ticket_after_the_window_does_not_undo_a_deflection(client, database, articles):
    body = suggest(client, "where is my parcel", visitor_id="visitor-late")
    with database.transaction() as session:
        assert service.settle_expired(session, now=utcnow() + timedelta(days=3, minutes=1)) == (1, 0)
    write_in(database, channel=Channel.WEB_CHAT, value="visitor-late")
    run_jobs(database)
    assert outcome_of(database, body["session_id"])[0] is SessionOutcome.DEFLECTED_NO_TICKET


def test_sessions_settle_only_once_the_configured_window_has_passed(client, database, articles, setting):
    setting("deflection_window_days", "7")
    body = suggest(client, "where is my parcel")
    with database.transaction() as session:
        assert service.settle_expired(session, now=utcnow() + timedelta(days=6)) == (0, 0)
    assert outcome_of(database, body["session_id"])[0] is SessionOutcome.PENDING
    with database.transaction() as session:
        assert service.settle_expired(session, now=utcnow() + timedelta(days=7, minutes=1)) == (1, 0)
    assert outcome_of(database, body["session_id"])[0] is SessionOutcome.DEFLECTED_NO_TICKET


def test_a_confirmed_session_stays_confirmed_after_the_window(client, database, articles):
    body = suggest(client, "I forgot my password")
    solved(client, body["session_id"], articles["password"])
    with database.transaction() as session:
        service.settle_expired(session, now=utcnow() + timedelta(days=4))
    assert outcome_of(database, body["session_id"])[0] is SessionOutcome.DEFLECTED_CONFIRMED


def test_holdout_is_deterministic_per_session_and_near_the_configured_share():
    ids = [f"session-{n}" for n in range(4000)]
    first = [service.is_holdout(i, 0.2) for i in ids]
    assert first == [service.is_holdout(i, 0.2) for i in ids]
    assert 0.17 < sum(first) / len(ids) < 0.23
    assert not any(service.is_holdout(i, 0.0) for i in ids)
    assert all(service.is_holdout(i, 1.0) for i in ids)


def _messages(database, ticket_id):
    with database.transaction(read_only=True) as session:
        return [
            (m.author_kind, m.public, m.channel, m.body_text)
            for m in session.scalars(
                select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
            )
        ]


def test_new_email_ticket_is_acknowledged_with_articles_when_search_is_confident(client, database, articles):
    result = write_in(
        database,
        channel=Channel.EMAIL,
        value="ann@example.com",
        subject="Forgot my password",
        text="I forgot my password and cannot sign in. Can you reset it?",
    )
    run_jobs(database)
    run_jobs(database)  # a second pass must not acknowledge twice
    messages = _messages(database, result.ticket_id)
    acks = [m for m in messages if m[0] is AuthorKind.SYSTEM]
    assert len(acks) == 1
    _, public, channel, text = acks[0]
    assert public and channel is Channel.EMAIL
    assert f"ticket #{result.ticket_id}" in text
    assert "Reset your password" in text
    assert "http://" in text and "/help/feedback/" in text
    with database.transaction(read_only=True) as session:
        rows = service.sessions_for_ticket(session, result.ticket_id)
        assert [r.source for r in rows] == ["email_ack"]
        assert rows[0].outcome is SessionOutcome.PENDING and rows[0].customer_id == result.customer_id


def test_email_acknowledgement_leaves_articles_out_when_search_abstains(client, database, articles):
    result = write_in(
        database,
        channel=Channel.EMAIL,
        value="bob@example.com",
        subject="Bitcoin",
        text="Can I pay with bitcoin?",
    )
    run_jobs(database)
    acks = [m for m in _messages(database, result.ticket_id) if m[0] is AuthorKind.SYSTEM]
    assert len(acks) == 1
    assert "articles" not in acks[0][3] and "/help/" not in acks[0][3]


def test_a_reply_in_the_email_thread_escalates_the_acknowledgement_session(client, database, articles):
    first = write_in(
        database,
        channel=Channel.EMAIL,
        value="cy@example.com",
        subject="Where is my parcel",
        text="Where is my parcel? It has not arrived.",
    )
    run_jobs(database)
    write_in(
        database,
        channel=Channel.EMAIL,
        value="cy@example.com",
        text="Still waiting!",
        ticket_id=first.ticket_id,  # the reply carries the thread's signed token
    )
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        (row,) = service.sessions_for_ticket(session, first.ticket_id)
        assert row.outcome is SessionOutcome.ESCALATED


def test_solved_link_in_the_email_resolves_the_ticket(client, database, articles):
    result = write_in(
        database,
        channel=Channel.EMAIL,
        value="dee@example.com",
        subject="Password",
        text="I forgot my password",
    )
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        (row,) = service.sessions_for_ticket(session, result.ticket_id)
        public_id = row.public_id
    page = client.get(f"/help/feedback/{public_id}?article_id={articles['password']}")
    assert page.status_code == 200 and "Reset your password" in page.text
    # Opening the link changes nothing: mail scanners prefetch links.
    assert outcome_of(database, public_id)[0] is SessionOutcome.PENDING
    done = client.post(
        f"/help/feedback/{public_id}", data={"article_id": str(articles["password"]), "outcome": "solved"}
    )
    assert done.status_code == 200 and "solved your problem" in done.text
    assert outcome_of(database, public_id)[0] is SessionOutcome.DEFLECTED_CONFIRMED
    with database.transaction(read_only=True) as session:
        assert session.get(Ticket, result.ticket_id).status is TicketStatus.RESOLVED
    assert client.get(f"/help/feedback/{public_id}?article_id=424242").status_code == 404


def test_bot_hook_records_a_session_on_the_ticket_that_the_bot_settles(client, database, articles):
    result = write_in(
        database,
        channel=Channel.WEB_CHAT,
        value="v-bot",
        text="password help",
    )
    run_jobs(database)
    with database.transaction() as session:
        ticket = session.get(Ticket, result.ticket_id)
        response = service.suggest_for_ticket(session, ticket, "I forgot my password")
        assert response.suggestions[0].article_id == articles["password"]
        public_id = response.session.public_id
    # The customer keeps chatting with the bot: that alone does not escalate the bot's session.
    write_in(database, channel=Channel.WEB_CHAT, value="v-bot", text="let me try")
    run_jobs(database)
    assert outcome_of(database, public_id)[:2] == (SessionOutcome.PENDING, result.ticket_id)
    solved(client, public_id, articles["password"])
    assert outcome_of(database, public_id)[0] is SessionOutcome.DEFLECTED_CONFIRMED


def test_acknowledgement_is_sent_without_articles_when_search_is_broken(
    client, database, articles, setting, tmp_path
):
    setting("embedding_model_path", str(tmp_path / "no-model-here"))
    result = write_in(
        database,
        channel=Channel.EMAIL,
        value="eve@example.com",
        subject="Password",
        text="I forgot my password",
    )
    run_jobs(database)
    acks = [m for m in _messages(database, result.ticket_id) if m[0] is AuthorKind.SYSTEM]
    assert len(acks) == 1 and "/help/" not in acks[0][3]
    with database.transaction(read_only=True) as session:
        (row,) = service.sessions_for_ticket(session, result.ticket_id)
        assert row.abstained and row.articles == []
