"""The bot's first answer on a new chat ticket: articles when search is confident, feedback through the
widget's buttons, and silence when there is nothing (new) to show."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.deflection.enums import SessionOutcome, SessionSource
from relaydesk.deflection.models import SuggestionSession
from relaydesk.tickets.enums import TicketStatus
from relaydesk.tickets.models import Ticket
from tests.channels.chat.conftest import new_visitor, send
from tests.deflection.conftest import SUGGEST
from tests.factories import run_jobs


def conversation(client, site, token):
    return client.get("/chat/v1/conversation", headers=site.headers(token)).json()["messages"]


def first_message(client, site, database, body):
    """A new visitor opens a ticket with ``body``; the jobs run. Returns the visitor's token."""
    token = new_visitor(client, site)
    sent = send(client, site, token, body)
    assert sent.status_code == 201, sent.text
    run_jobs(database)
    return token


def bot_answers(messages):
    return [m for m in messages if m["author"] == "bot" and m["suggestions"]]


def only_ticket(database):
    with database.transaction(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        return ticket.id, ticket.status


def test_a_new_chat_gets_the_articles_and_a_solved_click_resolves_the_ticket(
    client, database, site, articles
):
    token = first_message(client, site, database, "Hi, I forgot my password and now I cannot sign in")
    messages = conversation(client, site, token)
    [answer] = bot_answers(messages)
    assert answer["author_name"] == "Assistant"
    # The bot answered; no person has read the question yet.
    assert [m["state"] for m in messages if m["author"] == "visitor"] == ["delivered"]
    assert answer["suggestions"][0]["title"] == "Reset your password"
    assert answer["suggestions"][0]["url"].startswith(f"/help/en/articles/{articles['password']}-")
    assert "Reset your password" in answer["body"]  # readable by a client that ignores the cards

    feedback = f"{SUGGEST}/{answer['deflection_session']}/feedback"
    solved = client.post(feedback, json={"article_id": articles["password"], "outcome": "solved"})
    assert solved.status_code == 200 and solved.json()["outcome"] == "deflected_confirmed"
    ticket_id, status = only_ticket(database)
    assert status is TicketStatus.RESOLVED
    # The answer is kept on the bot's message: a reloaded widget shows it, not the buttons again.
    [again] = bot_answers(conversation(client, site, token))
    assert again["feedback"] == {str(articles["password"]): "solved"}
    with database.transaction(read_only=True) as session:
        row = session.scalars(select(SuggestionSession)).one()
        assert (row.source, row.ticket_id, row.outcome) == (
            SessionSource.BOT,
            ticket_id,
            SessionOutcome.DEFLECTED_CONFIRMED,
        )


def test_the_bot_answers_once_per_ticket(client, database, site, articles):
    token = first_message(client, site, database, "Where is my parcel? I want to track my order")
    sent = send(client, site, token, "Also, how do I return an item for a refund?", "client-0002")
    assert sent.status_code == 201, sent.text
    run_jobs(database)
    answers = bot_answers(conversation(client, site, token))
    assert [a["suggestions"][0]["title"] for a in answers] == ["Track your order"]


def test_nothing_relevant_gets_no_bot_answer_but_is_kept_for_the_gap_report(client, database, site, articles):
    token = first_message(client, site, database, "Can I pay with bitcoin?")
    assert [m["author"] for m in conversation(client, site, token)] == ["visitor"]
    with database.transaction(read_only=True) as session:
        row = session.scalars(select(SuggestionSession)).one()
        assert row.source is SessionSource.BOT and row.abstained is True
        assert [q.text for q in row.queries] == ["Can I pay with bitcoin?"]


def test_articles_already_shown_while_typing_are_not_shown_again(client, database, site, articles):
    token = new_visitor(client, site)
    visitor_id = client.get("/chat/v1/conversation", headers=site.headers(token)).json()["visitor_id"]
    typed = client.post(
        SUGGEST, json={"query": "I forgot my password", "channel": "web_chat", "visitor_id": visitor_id}
    )
    assert typed.json()["suggestions"], typed.text
    sent = send(client, site, token, "I forgot my password, the reset link does not arrive")
    assert sent.status_code == 201, sent.text
    run_jobs(database)
    assert bot_answers(conversation(client, site, token)) == []
    ticket_id, status = only_ticket(database)
    with database.transaction(read_only=True) as session:
        row = session.scalars(select(SuggestionSession)).one()  # the widget's; no bot session
        assert (row.ticket_id, row.outcome) == (ticket_id, SessionOutcome.ESCALATED)
    assert status is not TicketStatus.RESOLVED


def test_a_holdout_customer_gets_no_bot_answer_either(client, database, site, articles, setting):
    setting("deflection_holdout_share", "1")
    token = new_visitor(client, site)
    visitor_id = client.get("/chat/v1/conversation", headers=site.headers(token)).json()["visitor_id"]
    typed = client.post(
        SUGGEST, json={"query": "where is my parcel", "channel": "web_chat", "visitor_id": visitor_id}
    )
    assert typed.json()["holdout"] is True and typed.json()["suggestions"] == []
    sent = send(client, site, token, "Where is my parcel? I want to track my order")
    assert sent.status_code == 201, sent.text
    run_jobs(database)
    assert bot_answers(conversation(client, site, token)) == []
    with database.transaction(read_only=True) as session:
        assert len(session.scalars(select(SuggestionSession)).all()) == 1  # one contact, one session


def test_the_agent_sees_what_the_customer_tried_beside_the_timeline(client, database, site, articles):
    from relaydesk.auth.roles import Role
    from tests.factories import make_agent, sign_in_agent

    token = first_message(client, site, database, "Where is my parcel? I want to track my order")
    [answer] = bot_answers(conversation(client, site, token))
    feedback = f"{SUGGEST}/{answer['deflection_session']}/feedback"
    client.post(feedback, json={"article_id": articles["tracking"], "outcome": "not_helpful"})
    ticket_id, _ = only_ticket(database)

    sign_in_agent(client, make_agent(database, Role.LEAD))
    page = client.get(f"/tickets/{ticket_id}").text
    panel = page.split('data-testid="tried-before"')[1].split("</section>")[0]
    assert "in the bot&#39;s first answer" in panel
    assert "Asked: “Where is my parcel? I want to track my order”" in panel
    tried = panel.split('data-testid="tried-article"')[1]
    assert "Track your order" in tried and "not helpful" in tried


def test_an_older_question_the_window_links_does_not_silence_the_bot(client, database, site, articles):
    from datetime import timedelta

    from relaydesk.kit.time import utcnow

    token = new_visitor(client, site)
    visitor_id = client.get("/chat/v1/conversation", headers=site.headers(token)).json()["visitor_id"]
    earlier = client.post(
        SUGGEST, json={"query": "how do I return an item", "channel": "web_chat", "visitor_id": visitor_id}
    ).json()["session_id"]
    with database.transaction() as session:  # that was two hours ago, another question
        row = session.scalars(select(SuggestionSession)).one()
        row.created_at = row.last_activity_at = utcnow() - timedelta(hours=2)
    sent = send(client, site, token, "Where is my parcel? I want to track my order")
    assert sent.status_code == 201, sent.text
    run_jobs(database)
    assert [a["suggestions"][0]["title"] for a in bot_answers(conversation(client, site, token))] == [
        "Track your order"
    ]
    with database.transaction(read_only=True) as session:
        older = session.scalar(select(SuggestionSession).where(SuggestionSession.public_id == earlier))
        assert older.outcome is SessionOutcome.ESCALATED  # the window still links it, as before
