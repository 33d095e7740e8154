"""Triage of new tickets in the live pipeline: messages arrive through the real intake and the jobs run
with the real worker."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.customers import service as customers
from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.schemas import CustomerUpdate
from relaydesk.jobs import enqueue
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket, TicketEvent
from relaydesk.triage import pipeline
from relaydesk.triage.models import TicketTriage
from tests.factories import run_jobs


def inbound(database, text: str, *, who: str = "visitor-1") -> int:
    with database.transaction() as session:
        result = ingest(
            session,
            InboundMessage(
                channel=Channel.WEB_CHAT,
                identity_kind=IdentityKind.CHAT_VISITOR,
                identity_value=who,
                text=text,
                provider_message_id=uuid.uuid4().hex,
            ),
        )
        return result.ticket_id


def ticket(database, ticket_id: int) -> Ticket:
    with database.transaction() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def events(database, ticket_id: int, kind: str) -> list[TicketEvent]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
                .order_by(TicketEvent.id)
            )
        )


def test_new_ticket_gets_category_language_and_priority_with_confidence_and_version(database, category_model):
    ticket_id = inbound(database, "I forgot my password and now I cannot log in to my account")
    run_jobs(database)

    triaged = ticket(database, ticket_id)
    assert triaged.category == "account_access" and triaged.language == "en"
    # Released to routing, which queued it (issue 21): a live channel with the customer still there.
    assert triaged.status == "queued" and triaged.queue == "live" and "needs_triage" not in triaged.flags
    # The policy's "login" service raises normal urgency by one.
    assert triaged.priority == "high"
    [classified] = events(database, ticket_id, "triage.classified")
    category = classified.data["predictions"]["category"]
    assert category["label"] == "account_access" and category["model_version"] == category_model
    assert 0.5 < category["confidence"] <= 1 and category["top"][0][0] == "account_access"
    assert classified.data["language"]["code"] == "en"
    assert classified.data["impact"]["services"] == ["login"]
    assert any("affects login" in r for r in classified.data["priority"]["reasons"])
    [changed] = events(database, ticket_id, "ticket.category_changed")
    assert changed.actor_kind == "bot" and changed.data["to"] == "account_access"


def test_an_unsure_model_marks_the_ticket_for_a_person_instead_of_guessing(database, category_model):
    ticket_id = inbound(database, "Do you sell gift cards for birthdays?")
    run_jobs(database)

    unsure = ticket(database, ticket_id)
    assert unsure.category is None
    assert "needs_triage" in unsure.flags and unsure.queue == "triage" and unsure.status == "queued"
    [classified] = events(database, ticket_id, "triage.classified")
    assert classified.data["needs_triage"] == ["category"]
    assert classified.data["predictions"]["category"]["abstained"] is True
    assert classified.data["predictions"]["category"]["model_version"] == category_model


def test_without_a_model_language_impact_and_tier_still_apply(database):
    ticket_id = inbound(database, "Guten Tag, mein Paket ist nie angekommen. Bitte helfen Sie mir.")
    with database.transaction() as session:
        customer_id = ticket(database, ticket_id).customer_id
        customers.update_customer(session, customer_id, CustomerUpdate(tier="vip"))
    run_jobs(database)

    triaged = ticket(database, ticket_id)
    assert triaged.language == "de"
    assert triaged.priority == "high"  # VIP: one step up, and at least high
    assert triaged.category is None and triaged.queue == "triage" and "needs_triage" in triaged.flags
    [classified] = events(database, ticket_id, "triage.classified")
    assert classified.data["needs_triage"] == ["category"]  # team and priority have no model: left alone
    assert classified.data["predictions"]["category"]["reason"] == "no active model"
    assert classified.data["impact"]["tier"] == "vip" and classified.data["impact"]["available"] is True


def test_many_customers_reporting_the_same_problem_raise_the_priority(database):
    reports = [
        "The app crashes as soon as I open my basket",
        "Your app crashes when I open the basket",
        "Since this morning the app crashes whenever I open my basket",
    ]
    for n, text in enumerate(reports):
        inbound(database, text, who=f"visitor-{n}")
    unrelated = inbound(database, "I would like to change the colour of my order", who="visitor-9")
    run_jobs(database)
    assert ticket(database, unrelated).priority == "normal"

    fourth = inbound(database, "App crashed again when opening my basket!", who="visitor-4")
    run_jobs(database)
    assert ticket(database, fourth).priority == "high"
    [classified] = events(database, fourth, "triage.classified")
    impact = classified.data["impact"]
    assert impact["similar_customers"] == 3 and impact["similar_reports"] == 3
    assert unrelated not in impact["similar_ticket_ids"]


def test_triage_runs_once_however_often_the_job_runs(database, category_model):
    ticket_id = inbound(database, "Please refund my purchase, I returned it")
    run_jobs(database)
    before = ticket(database, ticket_id)
    with database.transaction() as session:
        count = session.scalar(select(func.count()).select_from(TicketEvent))
        first = session.scalars(select(TicketTriage)).one()
        enqueue(session, "triage.process_inbound", message_id=first.message_id)
        enqueue(session, "triage.triage_ticket", ticket_id=ticket_id)
    run_jobs(database)
    after = ticket(database, ticket_id)
    assert after.version == before.version and after.category == before.category == "refund_request"
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == count
        assert session.scalar(select(func.count()).select_from(TicketTriage)) == 1


def test_a_step_before_triage_can_hold_the_ticket_until_it_lets_go(database, monkeypatch):
    held: list[int] = []

    def bot_flow(session, ticket, message):
        held.append(ticket.id)
        return pipeline.StepOutcome.HOLD

    monkeypatch.setitem(pipeline._steps, "test.bot", pipeline.InboundStep("test.bot", 30, bot_flow))
    ticket_id = inbound(database, "Where is my parcel?")
    run_jobs(database)
    assert held == [ticket_id] and events(database, ticket_id, "triage.classified") == []

    monkeypatch.delitem(pipeline._steps, "test.bot")
    with database.transaction() as session:
        enqueue(session, "triage.triage_ticket", ticket_id=ticket_id)
    run_jobs(database)
    assert len(events(database, ticket_id, "triage.classified")) == 1


def test_a_model_whose_files_are_gone_sends_the_ticket_to_a_person_instead_of_failing(
    database, category_model
):
    import shutil

    from relaydesk.classification import service as classification
    from relaydesk.classification.models import ModelVersion

    with database.transaction() as session:
        version = session.scalars(select(ModelVersion)).one()
        shutil.rmtree(classification.models_dir() / version.artifact_path)
    classification.clear_model_cache()
    ticket_id = inbound(database, "Please refund my purchase")
    run_jobs(database)

    unsure = ticket(database, ticket_id)
    assert unsure.status == "queued" and unsure.queue == "triage" and unsure.category is None
    [classified] = events(database, ticket_id, "triage.classified")
    assert classified.data["predictions"]["category"]["reason"].startswith("model unavailable")


def test_team_names_from_the_model_become_teams_and_unknown_names_need_a_person(database, category_model):
    from tests.factories import make_team
    from tests.triage.conftest import HISTORY, train_model

    teams = {"shipping_issue": "Logistics", "refund_request": "Billing", "account_access": "Accounts"}
    train_model(database, "team", {teams[label]: texts for label, texts in HISTORY.items()})
    logistics = make_team(database, "Logistics")
    make_team(database, "Billing")  # no "Accounts" team here: the model learnt it elsewhere

    shipped = inbound(database, "My parcel never arrived, where is it?", who="visitor-1")
    locked = inbound(database, "I am locked out of my account", who="visitor-2")
    run_jobs(database)

    assert ticket(database, shipped).team_id == logistics and ticket(database, shipped).queue is None
    unknown = ticket(database, locked)
    assert unknown.team_id is None and unknown.queue == "triage" and unknown.category == "account_access"
    [classified] = events(database, locked, "triage.classified")
    assert classified.data["needs_triage"] == ["team"]
    assert classified.data["predictions"]["team"]["reason"] == "no team named 'Accounts'"


def test_a_phone_callback_keeps_its_queue_when_triage_needs_a_person(client, database, provider):
    response = client.post(
        "/callbacks/v1/requests",
        json={"phone": "+14155550101", "name": "Ann", "reason": "Boots arrived broken"},
    )
    assert response.status_code < 300, response.text
    run_jobs(database)
    with database.transaction() as session:
        callback = session.scalars(select(Ticket)).one()
    [classified] = events(database, callback.id, "triage.classified")
    assert callback.queue == "callback" and "needs_triage" in callback.flags
    assert classified.data["needs_triage"] == ["category"]
