"""Phrase rules in the live inbound pipeline: messages arrive through the real intake, the jobs run with
the real worker on the injectable clock, and the shipped policy decides."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import TeamCreate
from relaydesk.deflection.models import SuggestionSession
from relaydesk.escalation.phrases import PHRASE_MATCHED_EVENT
from relaydesk.jobs import enqueue
from relaydesk.kit.time import as_utc
from relaydesk.policies import policy_version
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, EscalationLevel, Priority, QueueKind
from relaydesk.tickets.models import Message, Ticket
from relaydesk.tickets.schemas import TicketUpdate
from relaydesk.triage.pipeline import BOT_FROZEN_FLAG
from relaydesk.triage.service import NEEDS_TRIAGE_FLAG
from tests.deflection.conftest import articles  # noqa: F401  (a real knowledge base: the bot would answer)
from tests.escalation.conftest import moves_of
from tests.factories import ingest_text as inbound
from tests.factories import load_ticket as ticket
from tests.factories import run_jobs
from tests.factories import ticket_events as events


def bot_messages(database, ticket_id: int) -> list[Message]:
    with database.transaction(read_only=True) as session:
        return list(
            session.scalars(
                select(Message).where(Message.ticket_id == ticket_id, Message.author_kind == AuthorKind.BOT)
            )
        )


def sessions_of(database, ticket_id: int) -> list[SuggestionSession]:
    with database.transaction(read_only=True) as session:
        return list(
            session.scalars(select(SuggestionSession).where(SuggestionSession.ticket_id == ticket_id))
        )


def legal_team(database) -> int:
    """The restricted team the shipped escalation_paths.yaml names for the legal level."""
    with database.transaction() as session:
        return agents.create_team(session, TeamCreate(name="Legal & Compliance", restricted=True)).id


@pytest.mark.usefixtures("articles")
def test_a_chat_legal_threat_is_flagged_raised_sent_to_legal_before_the_bot_answers(database, clock):
    legal = legal_team(database)
    # The same question without a threat: the bot answers it with articles (so silence below is the rule's).
    plain = inbound(database, "Hi, I forgot my password and now I cannot sign in", who="visitor-plain")
    threat = inbound(
        database,
        "Hi, I forgot my password and now I cannot sign in. Fix it or I will sue you",
        who="visitor-sue",
    )
    run_jobs(database)
    assert len(bot_messages(database, plain)) == 1 and not events(database, plain, PHRASE_MATCHED_EVENT)

    flagged = ticket(database, threat)
    assert {"legal_threat", BOT_FROZEN_FLAG} <= set(flagged.flags)
    # Triage ran after the rule (language, category) and kept the rule's priority as a floor.
    assert flagged.priority is Priority.URGENT and flagged.language == "en"
    assert flagged.escalation_level is EscalationLevel.LEGAL
    # Deflection and the bot stayed silent: no answer, no suggestion session.
    assert bot_messages(database, threat) == [] and sessions_of(database, threat) == []

    [matched] = events(database, threat, PHRASE_MATCHED_EVENT)
    assert matched.actor_kind is AuthorKind.SYSTEM and as_utc(matched.created_at) == clock.now()
    assert {k: matched.data[k] for k in ("rule", "phrase", "matched", "language")} == {
        "rule": "legal_threat",
        "phrase": "sue+",
        "matched": "sue",
        "language": "en",
    }
    assert matched.data["policy_version"] == policy_version("phrase_rules") is not None
    assert matched.data["actions"] == {
        "flag": "legal_threat",
        "priority_at_least": "urgent",
        "escalate_to": "legal",
        "freeze_bot": True,
    }
    kinds = [e.kind for e in events(database, threat)]
    # Each change through tickets.update_ticket, with its event, before triage classified the ticket.
    for kind in ("ticket.priority_changed", "ticket.escalation_level_changed", "ticket.updated"):
        assert kinds.index(PHRASE_MATCHED_EVENT) < kinds.index(kind) < kinds.index("triage.classified")
    [level] = events(database, threat, "ticket.escalation_level_changed")
    assert level.data == {
        "field": "escalation_level",
        "from": "frontline",
        "to": "legal",
        "reason": "escalation: phrase_rule",
    }
    # The move is the ladder's own: a row in escalations, the ticket in the restricted legal team, and
    # routed there (a live queue), not held in the needs-triage queue though triage had no category.
    assert flagged.team_id == legal
    assert flagged.queue is QueueKind.LIVE and NEEDS_TRIAGE_FLAG in flagged.flags
    [move] = moves_of(database, threat)
    assert (move.to_level, move.reason) == (EscalationLevel.LEGAL, "phrase_rule")
    assert '"sue"' in move.note

    # The job again (a retry): nothing is recorded twice.
    with database.transaction() as session:
        enqueue(session, tickets.INBOUND_MESSAGE_JOB, message_id=matched.data["message_id"])
    run_jobs(database)
    assert len(events(database, threat, PHRASE_MATCHED_EVENT)) == 1


@pytest.mark.usefixtures("articles")
def test_an_email_threat_in_the_subject_gets_no_automatic_acknowledgement(database, clock):
    plain = inbound(database, "How do I return an item?", who="a@example.com", channel=Channel.EMAIL)
    threat = inbound(
        database,
        "I sent the jacket back a month ago.",
        who="b@example.com",
        channel=Channel.EMAIL,
        subject="Chargeback coming",
    )
    run_jobs(database)
    assert len(sessions_of(database, plain)) == 1  # the acknowledgement a plain email gets
    flagged = ticket(database, threat)
    assert "chargeback_risk" in flagged.flags and flagged.priority is Priority.HIGH
    assert flagged.escalation_level is EscalationLevel.TIER2
    # The chargeback rule does not freeze the bot: deflection acknowledges as usual.
    assert len(sessions_of(database, threat)) == 1
    [matched] = events(database, threat, PHRASE_MATCHED_EVENT)
    assert (matched.data["rule"], matched.data["matched"]) == ("chargeback", "chargeback")

    legal = inbound(
        database, "Refund me.", who="c@example.com", channel=Channel.EMAIL, subject="Legal action"
    )
    run_jobs(database)
    assert ticket(database, legal).escalation_level is EscalationLevel.LEGAL
    assert sessions_of(database, legal) == []  # frozen: no acknowledgement with articles, a person answers


def test_a_later_message_uses_the_tickets_language_and_never_lowers_what_is_set(database, clock):
    ticket_id = inbound(
        database, "Hola, mi pedido todavía no ha llegado y necesito la chaqueta", who="visitor-es"
    )
    run_jobs(database)
    assert ticket(database, ticket_id).language == "es"
    with database.transaction() as session:
        tickets.update_ticket(
            session,
            session.get(Ticket, ticket_id),
            TicketUpdate(escalation_level=EscalationLevel.MANAGER, priority=Priority.URGENT),
            tickets.Actor(AuthorKind.SYSTEM),
        )
    clock.advance(minutes=5)
    inbound(database, "La chaqueta térmica se incendió. Voy a demandarlos", who="visitor-es")
    run_jobs(database)

    matched = events(database, ticket_id, PHRASE_MATCHED_EVENT)
    assert {(e.data["rule"], e.data["matched"], e.data["language"]) for e in matched} == {
        ("safety", "se incendio", "es"),
        ("safety", "incendio", "es"),
        ("legal_threat", "demandarlos", "es"),
    }
    assert all(as_utc(e.created_at) == clock.now() for e in matched)
    after = ticket(database, ticket_id)
    # Legal is above manager: moved up. Safety alone (team_lead) would not have moved it down.
    assert after.escalation_level is EscalationLevel.LEGAL and after.priority is Priority.URGENT
    assert {"safety", "legal_threat", BOT_FROZEN_FLAG} <= set(after.flags)
    # Urgent already: the rules' priority wrote no change (only the earlier update did).
    assert len(events(database, ticket_id, "ticket.priority_changed")) == 1


def test_a_rule_below_the_tickets_level_changes_only_the_flags(database, clock):
    ticket_id = inbound(database, "Where is my order?", who="visitor-safe")
    run_jobs(database)
    with database.transaction() as session:
        tickets.update_ticket(
            session,
            session.get(Ticket, ticket_id),
            TicketUpdate(escalation_level=EscalationLevel.MANAGER, priority=Priority.URGENT),
            tickets.Actor(AuthorKind.SYSTEM),
        )
    before = len(events(database, ticket_id))
    inbound(database, "The heated jacket caught fire", who="visitor-safe")
    run_jobs(database)
    after = ticket(database, ticket_id)
    assert after.escalation_level is EscalationLevel.MANAGER and after.priority is Priority.URGENT
    new = [e.kind for e in events(database, ticket_id)[before:]]
    assert "ticket.escalation_level_changed" not in new and "ticket.priority_changed" not in new
    assert new.count(PHRASE_MATCHED_EVENT) == 1 and "safety" in after.flags


def test_a_threat_the_ladder_cannot_route_still_records_the_level_and_says_why(database, clock):
    """No restricted legal team exists: the ladder refuses the move; the level is kept on the ticket with
    the ladder's reason, so nobody loses the match and a person sees what to fix."""
    threat = inbound(database, "Refund me now or I will sue you", who="visitor-no-legal-team")
    run_jobs(database)
    flagged = ticket(database, threat)
    assert flagged.escalation_level is EscalationLevel.LEGAL and moves_of(database, threat) == []
    [level] = events(database, threat, "ticket.escalation_level_changed")
    assert level.data["reason"].startswith("phrase rule: legal_threat (not routed: ")
    assert "Legal & Compliance" in level.data["reason"]
