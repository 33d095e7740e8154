"""Agent-facing views: what a ticket's customer tried, and the deflection, gap and article reports."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from relaydesk.auth.roles import Role
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import ingest
from relaydesk.customers.enums import IdentityKind
from relaydesk.deflection import service
from relaydesk.deflection.reports import cluster_texts
from relaydesk.kit.time import utcnow
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Ticket
from tests.deflection.conftest import SUGGEST, suggest
from tests.factories import form_csrf_token, make_agent, make_team, run_jobs, sign_in_agent

REPORTS = ["/api/v1/reports/deflection", "/api/v1/reports/kb-gaps", "/api/v1/reports/articles"]


def feedback(client, session_id, article_id, outcome):
    response = client.post(
        f"{SUGGEST}/{session_id}/feedback", json={"article_id": article_id, "outcome": outcome}
    )
    assert response.status_code == 200, response.text


def chat_in(database, visitor, text="I still need help"):
    with database.transaction() as session:
        return ingest(
            session,
            InboundMessage(
                channel=Channel.WEB_CHAT,
                identity_kind=IdentityKind.CHAT_VISITOR,
                identity_value=visitor,
                text=text,
                provider_message_id=f"{visitor}:{text}",
            ),
        )


def test_reports_need_the_lead_role(client, database):
    agent = make_agent(database, Role.AGENT)
    lead = make_agent(database, Role.LEAD)
    for url in REPORTS:
        assert client.get(url).status_code == 401
        denied = client.get(url, headers=agent.headers)
        assert denied.status_code == 403 and "lead" in denied.json()["error"]["message"]
        assert client.get(url, headers=lead.headers).status_code == 200


def test_report_periods_are_validated(client, database):
    lead = make_agent(database, Role.LEAD)
    naive = client.get(REPORTS[0], params={"since": "2026-11-01T00:00:00"}, headers=lead.headers)
    assert naive.status_code == 422 and "time zone" in naive.json()["error"]["message"]
    backwards = client.get(
        REPORTS[0],
        params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=lead.headers,
    )
    assert backwards.status_code == 422
    assert client.get(REPORTS[0], params={"channel": "pigeon"}, headers=lead.headers).status_code == 422


def test_deflection_report_counts_outcomes_with_holdout_side_by_side(client, database, articles, setting):
    lead = make_agent(database, Role.LEAD)
    # Treated: one confirmed, one escalated, one still pending.
    confirmed = suggest(client, "I forgot my password")
    feedback(client, confirmed["session_id"], articles["password"], "solved")
    suggest(client, "where is my parcel", visitor_id="v-escalates")
    chat_in(database, "v-escalates")
    run_jobs(database)
    quiet = suggest(client, "how do I return an item")
    # Nothing found, the customer left: deflected without a ticket, but no suggestion was involved.
    assert suggest(client, "can I pay with bitcoin")["abstained"] is True
    # Holdout: shown nothing; one settles without a ticket, one escalates.
    setting("deflection_holdout_share", "1")
    suggest(client, "where is my parcel")
    suggest(client, "reset my password", visitor_id="v-holdout")
    chat_in(database, "v-holdout")
    run_jobs(database)
    with database.transaction() as session:
        session.execute(
            SuggestionSessionTable.update()
            .where(SuggestionSessionTable.c.public_id != quiet["session_id"])
            .values(last_activity_at=utcnow() - timedelta(days=4))
        )
        assert service.settle_expired(session) == (2, 0)  # nobody followed up on these two
    suggest(client, "change my delivery address")  # holdout arm, pending
    report = client.get(REPORTS[0], headers=lead.headers).json()
    treated, holdout = report["treated"], report["holdout"]
    assert (treated["sessions"], treated["deflected_confirmed"], treated["deflected_no_ticket"]) == (4, 1, 1)
    assert (treated["escalated"], treated["pending"], treated["with_suggestions"]) == (1, 1, 3)
    assert treated["deflection_rate"] == 0.6667
    assert treated["deflection_rate_with_suggestions"] == 0.5
    assert (
        holdout["sessions"],
        holdout["deflected_no_ticket"],
        holdout["escalated"],
        holdout["pending"],
    ) == (
        3,
        1,
        1,
        1,
    )
    assert holdout["deflected_confirmed"] == 0 and holdout["deflection_rate"] == 0.5
    assert holdout["deflection_rate_with_suggestions"] == 0.5
    assert report["all"]["sessions"] == 7
    assert report["uplift"] == 0.1667 and report["uplift_with_suggestions"] == 0.0
    assert report["window_days"] == 3.0 and report["holdout_share"] == 1.0
    by_channel = client.get(REPORTS[0], params={"channel": "email"}, headers=lead.headers).json()
    assert by_channel["all"]["sessions"] == 0
    future = client.get(
        REPORTS[0], params={"since": (utcnow() + timedelta(hours=1)).isoformat()}, headers=lead.headers
    ).json()
    assert future["all"]["sessions"] == 0 and future["all"]["deflection_rate"] is None


def test_article_report_counts_shown_views_feedback_and_tickets_after_viewing(client, database, articles):
    lead = make_agent(database, Role.LEAD)
    a = suggest(client, "where is my parcel", visitor_id="v-1")
    feedback(client, a["session_id"], articles["tracking"], "viewed")
    chat_in(database, "v-1")
    run_jobs(database)
    b = suggest(client, "where is my parcel")
    feedback(client, b["session_id"], articles["tracking"], "not_helpful")
    c = suggest(client, "I forgot my password")
    feedback(client, c["session_id"], articles["password"], "solved")
    responses = (a, b, c)

    def shown(article_id):
        return sum(any(x["article_id"] == article_id for x in r["suggestions"]) for r in responses)

    rows = {r["article_id"]: r for r in client.get(REPORTS[2], headers=lead.headers).json()}
    tracking, password = rows[articles["tracking"]], rows[articles["password"]]
    assert tracking["title"] == "Track your order"
    assert tracking["shown"] == shown(articles["tracking"]) >= 2
    assert (tracking["views"], tracking["not_helpful"], tracking["tickets_after_viewing"]) == (1, 1, 1)
    assert password["shown"] == shown(articles["password"]) >= 1
    assert (password["views"], password["solved"], password["tickets_after_viewing"]) == (1, 1, 0)
    # Ordered by how often an article was shown.
    assert [r["shown"] for r in rows.values()] == sorted((r["shown"] for r in rows.values()), reverse=True)


def test_history_survives_the_article_being_deleted(client, database, articles):
    from relaydesk.knowledge import service as knowledge

    lead = make_agent(database, Role.LEAD)
    suggest(client, "where is my parcel")
    with database.transaction() as session:
        knowledge.delete_article(session, knowledge.get_article(session, articles["tracking"]))
    rows = {r["article_id"]: r for r in client.get(REPORTS[2], headers=lead.headers).json()}
    assert rows[articles["tracking"]]["title"] == "Track your order"


def test_gap_clusters_group_unanswered_questions_by_meaning():
    texts = [
        "can I pay with bitcoin",
        "do you accept cryptocurrency payments",
        "bitcoin payment possible?",
        "is there a store in Paris",
        "do you have a shop in paris france",
    ]
    labels = cluster_texts(texts, 0.45)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4]
    assert labels[0] != labels[3]


def test_kb_gaps_report_lists_abstained_and_unhelpful_queries_largest_cluster_first(
    client, database, articles
):
    lead = make_agent(database, Role.LEAD)
    for text in (
        "can I pay with bitcoin",
        "do you accept cryptocurrency payments",
        "bitcoin payment possible?",
    ):
        assert suggest(client, text)["abstained"] is True
    assert suggest(client, "is there a store in Paris")["abstained"] is True
    unhelpful = suggest(client, "where is my parcel")
    feedback(client, unhelpful["session_id"], articles["tracking"], "not_helpful")
    suggest(client, "I forgot my password")  # answered well: not a gap
    report = client.get(REPORTS[1], headers=lead.headers).json()
    assert report["queries"] == 5
    clusters = report["clusters"]
    assert clusters[0]["count"] == 3 and clusters[0]["abstained"] == 3
    assert "can I pay with bitcoin" in clusters[0]["sample_queries"]
    assert sum(c["count"] for c in clusters) == 5
    assert any(c["not_helpful"] == 1 and c["sample_queries"] == ["where is my parcel"] for c in clusters)
    assert not any("password" in q for c in clusters for q in c["sample_queries"])


@pytest.fixture
def restricted(database):
    legal = make_team(database, "Legal", restricted=True)
    return legal, make_agent(database, Role.AGENT, [legal]), make_agent(database, Role.AGENT)


def test_agents_see_what_the_customer_tried_with_the_tickets_visibility(
    client, database, articles, restricted
):
    legal_team, legal_agent, outsider = restricted
    body = suggest(client, "where is my parcel", visitor_id="v-tried")
    feedback(client, body["session_id"], articles["tracking"], "not_helpful")
    result = chat_in(database, "v-tried", "My parcel is lost")
    run_jobs(database)
    url = f"/api/v1/tickets/{result.ticket_id}/deflection"
    assert client.get(url).status_code == 401
    seen = client.get(url, headers=outsider.headers).json()
    (tried,) = seen["sessions"]
    assert tried["queries"][0]["text"] == "where is my parcel"
    assert tried["outcome"] == "escalated"
    tracking = next(a for a in tried["articles"] if a["article_id"] == articles["tracking"])
    assert tracking["feedback"] == "not_helpful" and tracking["title"] == "Track your order"
    # Moved to a restricted team: outsiders get a 404 as for any hidden ticket.
    with database.transaction() as session:
        session.get(Ticket, result.ticket_id).team_id = legal_team
    assert client.get(url, headers=outsider.headers).status_code == 404
    assert client.get(url, headers=legal_agent.headers).status_code == 200
    assert client.get("/api/v1/tickets/999999/deflection", headers=legal_agent.headers).status_code == 404


def test_cli_prints_the_reports_as_json(client, database, articles):
    from relaydesk.cli import app

    suggest(client, "can I pay with bitcoin")
    runner = CliRunner()
    report = runner.invoke(app, ["deflection", "report", "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["all"]["sessions"] == 1
    gaps = runner.invoke(app, ["deflection", "gaps", "--json"])
    assert gaps.exit_code == 0, gaps.output
    assert json.loads(gaps.output)["clusters"][0]["sample_queries"] == ["can I pay with bitcoin"]
    bad = runner.invoke(app, ["deflection", "report", "--since", "yesterday"])
    assert bad.exit_code == 2


def _table():
    from relaydesk.deflection.models import SuggestionSession

    return SuggestionSession.__table__


SuggestionSessionTable = _table()


def test_report_page_is_for_leads_and_loads_gaps_separately(client, database, articles):
    suggest(client, "can I pay with bitcoin")
    assert client.get("/reports/deflection", follow_redirects=False).status_code == 303  # to sign in
    sign_in_agent(client, make_agent(database, Role.AGENT))
    assert client.get("/reports/deflection").status_code == 403
    assert client.get("/reports/deflection/gaps").status_code == 401
    client.cookies.clear()
    sign_in_agent(client, make_agent(database, Role.LEAD))
    page = client.get("/reports/deflection")
    assert page.status_code == 200 and 'data-testid="deflection-report"' in page.text
    gaps = client.get("/reports/deflection/gaps")
    assert gaps.status_code == 200 and "can I pay with bitcoin" in gaps.text


def test_what_customers_typed_when_an_article_solved_it_becomes_its_questions_at_a_leads_click(
    client, database, articles
):
    from relaydesk.knowledge import service as knowledge

    lead = make_agent(database, Role.LEAD)
    for query in ("I forgot my password", "I can't remember my password", "i forgot  my PASSWORD"):
        found = suggest(client, query)
        assert found["suggestions"][0]["article_id"] == articles["password"]
        feedback(client, found["session_id"], articles["password"], "solved")
    shown = suggest(client, "where is my parcel")
    feedback(client, shown["session_id"], articles["tracking"], "not_helpful")

    rows = {r["article_id"]: r for r in client.get(REPORTS[2], headers=lead.headers).json()}
    proposed = rows[articles["password"]]["new_questions"]
    assert proposed == ["i forgot my PASSWORD", "I can't remember my password"]  # newest first, once each
    assert rows[articles["tracking"]]["new_questions"] == []  # "not helpful" proposes nothing

    sign_in_agent(client, lead)
    page = client.get("/reports/deflection").text
    assert f'data-testid="new-questions-{articles["password"]}"' in page
    token = form_csrf_token(page)
    path = f"/kb/{articles['password']}/questions"
    assert client.post(path, data={"question": proposed[:1]}, follow_redirects=False).status_code == 403
    added = client.post(path, data={"question": proposed[:1], "csrf_token": token}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].startswith("/reports/deflection")
    with database.transaction(read_only=True) as session:
        assert knowledge.get_article(session, articles["password"]).questions == ["i forgot my PASSWORD"]
    rows = {r["article_id"]: r for r in client.get(REPORTS[2], headers=lead.headers).json()}
    assert rows[articles["password"]]["new_questions"] == ["I can't remember my password"]

    client.cookies.clear()
    sign_in_agent(client, make_agent(database, Role.AGENT))
    token = form_csrf_token(client.get("/kb").text)
    refused = client.post(path, data={"question": proposed[1:], "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
