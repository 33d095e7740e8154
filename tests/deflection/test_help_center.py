"""Searching the help center: a deflection session like any other surface, except that the customer
asked for results (never in the holdout, never in the treated-versus-holdout comparison)."""

from __future__ import annotations

import re

from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.deflection import reports
from relaydesk.deflection.enums import SessionOutcome, SessionSource
from relaydesk.deflection.models import SuggestionSession
from relaydesk.tickets.models import Ticket
from tests.channels.web_form.test_contact_form import form_tokens
from tests.factories import make_agent, run_jobs


def only_session(database):
    with database.transaction(read_only=True) as session:
        return session.scalars(select(SuggestionSession)).one()


def test_a_search_then_an_article_that_solved_it_counts_as_deflected(client, database, articles, setting):
    setting("deflection_holdout_share", "1")  # would hide everything from a randomised session
    results = client.get("/help/en", params={"q": "I forgot my password"}).text
    link = re.search(r'data-testid="help-result"><a href="([^"]+)"', results).group(1)
    assert link.startswith(f"/help/en/articles/{articles['password']}-") and "?s=" in link
    row = only_session(database)
    assert (row.source, row.holdout, row.abstained) == (SessionSource.HELP_CENTER, False, False)

    assert '<meta name="robots" content="noindex, nofollow">' in results
    article = client.get(link).text
    assert f'<link rel="canonical" href="{link.split("?")[0]}">' in article
    assert 'data-testid="article-feedback"' in article and f"/help/feedback/{row.public_id}" in article
    assert client.get(link.split("?")[0]).text.count("article-feedback") == 0  # a plain visit: no question
    done = client.post(
        f"/help/feedback/{row.public_id}", data={"article_id": articles["password"], "outcome": "solved"}
    )
    assert done.status_code == 200 and "solved your problem" in done.text
    with database.transaction(read_only=True) as session:
        row = session.scalars(select(SuggestionSession)).one()
        assert row.outcome is SessionOutcome.DEFLECTED_CONFIRMED
        answered = [(a.viewed_at is not None, a.feedback.value) for a in row.articles if a.feedback]
        assert answered == [(True, "solved")]

    lead = make_agent(database, Role.LEAD)
    report = client.get("/api/v1/reports/deflection", headers=lead.headers).json()
    assert report["all"]["deflected_confirmed"] == 1
    assert report["treated"]["sessions"] == 0 and report["holdout"]["sessions"] == 0


def test_a_search_that_finds_nothing_reaches_the_gap_report(client, database, articles):
    page = client.get("/help/en", params={"q": "can I pay with bitcoin"}).text
    assert 'data-testid="no-results"' in page
    with database.transaction(read_only=True) as session:
        clusters = reports.gap_report(session).clusters
    assert [c.sample_queries for c in clusters] == [["can I pay with bitcoin"]]


def test_not_helpful_then_the_contact_form_links_the_ticket_to_the_search(client, database, articles):
    results = client.get("/help/en", params={"q": "where is my parcel"}).text
    row = only_session(database)
    client.get(re.search(r'data-testid="help-result"><a href="([^"]+)"', results).group(1))
    answer = client.post(
        f"/help/feedback/{row.public_id}", data={"article_id": articles["tracking"], "outcome": "not_helpful"}
    ).text
    contact_link = f"/help/en/contact?q=where%20is%20my%20parcel&amp;s={row.public_id}"
    assert contact_link in answer  # no ticket yet: the page offers to write to us
    assert f"/help/en/contact?q=where%20is%20my%20parcel&amp;s={row.public_id}" in results

    form_page = client.get("/help/en/contact", params={"q": "where is my parcel", "s": row.public_id}).text
    assert f'name="session_id" value="{row.public_id}"' in form_page
    sent = client.post(
        "/help/en/contact",
        data={
            "email": "zoe@example.com",
            "question": "where is my parcel",
            "session_id": row.public_id,
            "submission_id": form_tokens(form_page),
        },
    )
    assert sent.status_code == 200
    run_jobs(database)
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
    row = only_session(database)
    assert (row.outcome, row.ticket_id) == (SessionOutcome.ESCALATED, ticket.id)


def test_a_search_refined_on_the_results_page_stays_one_session(client, database, articles):
    first = client.get("/help/en", params={"q": "parcel"}).text
    within = re.search(r'name="s" value="([^"]+)"', first).group(1)
    client.get("/help/en", params={"q": "where is my parcel", "s": within})
    client.get("/help/en", params={"q": "where is my parcel", "s": "stale-session-id"})  # starts anew
    with database.transaction(read_only=True) as session:
        rows = session.scalars(select(SuggestionSession).order_by(SuggestionSession.id)).all()
        assert [[q.text for q in row.queries] for row in rows] == [
            ["parcel", "where is my parcel"],
            ["where is my parcel"],
        ]
        assert rows[0].public_id == within


def test_help_center_searches_share_the_public_rate_limit_and_say_so(client, database, articles, setting):
    setting("deflection_rate_per_minute", "2")
    pages = [client.get("/help/en", params={"q": "I forgot my password"}) for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 429]
    assert 'data-testid="search-refused"' in pages[2].text and "retry in" in pages[2].text
    assert "/help/en/contact?q=I%20forgot%20my%20password" in pages[2].text  # a way to a person remains
    with database.transaction(read_only=True) as session:
        # The same visitor's second search continued its visit's session; the refused one wrote nothing.
        (row,) = session.scalars(select(SuggestionSession)).all()
        assert [q.text for q in row.queries] == ["I forgot my password"]
    assert client.get("/help/en").status_code == 200  # the index, searching nothing, is not counted
