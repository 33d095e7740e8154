"""The public suggestions API the chat widget, in-app and the contact form call as the customer types."""

from __future__ import annotations

from sqlalchemy import func, select

from relaydesk.customers.enums import IdentityKind
from relaydesk.customers.schemas import CustomerCreate, IdentityIn
from relaydesk.deflection.enums import SessionOutcome
from relaydesk.deflection.models import SuggestedArticle, SuggestionQuery, SuggestionSession
from tests.deflection.conftest import SUGGEST


def post_query(client, query, **extra):
    """Ask the public suggestions API; answers the response, whatever its status."""
    return client.post(SUGGEST, json={"query": query, "channel": "web_chat", **extra})


def stored_session(database, public_id):
    with database.transaction(read_only=True) as session:
        row = session.scalar(select(SuggestionSession).where(SuggestionSession.public_id == public_id))
        assert row is not None
        return (
            row,
            [q.text for q in row.queries],
            {a.article_id: (a.displayed, a.feedback) for a in row.articles},
        )


def test_confident_query_returns_articles_and_opens_a_session(client, database, articles):
    response = post_query(client, "I forgot my password")
    assert response.status_code == 200
    body = response.json()
    assert body["holdout"] is False and body["abstained"] is False
    assert body["suggestions"][0]["article_id"] == articles["password"]
    assert set(body["suggestions"][0]) == {"article_id", "title", "snippet", "url", "score"}
    assert 0 <= body["suggestions"][0]["score"] <= 1
    row, queries, shown = stored_session(database, body["session_id"])
    assert row.outcome is SessionOutcome.PENDING and row.channel == "web_chat"
    assert queries == ["I forgot my password"]
    assert articles["password"] in shown


def test_typing_reuses_one_session_and_keeps_the_latest_wording(client, database, articles):
    first = post_query(client, "how do I reset").json()
    for text in ("how do I reset my", "how do I reset my password"):
        again = post_query(client, text, session_id=first["session_id"]).json()
        assert again["session_id"] == first["session_id"]
    _, queries, _ = stored_session(database, first["session_id"])
    assert queries == ["how do I reset my password"]
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(SuggestionSession)) == 1


def test_a_different_question_in_the_same_session_is_kept_as_a_second_query(client, database, articles):
    first = post_query(client, "I forgot my password").json()
    post_query(client, "where is my parcel", session_id=first["session_id"])
    _, queries, shown = stored_session(database, first["session_id"])
    assert queries == ["I forgot my password", "where is my parcel"]
    assert {articles["password"], articles["tracking"]} <= set(shown)


def test_nothing_relevant_abstains_and_shows_nothing(client, database, articles):
    body = post_query(client, "can I pay with bitcoin").json()
    assert body["abstained"] is True and body["suggestions"] == []
    row, queries, shown = stored_session(database, body["session_id"])
    assert row.abstained is True and queries == ["can I pay with bitcoin"] and shown == {}


def test_solved_click_confirms_the_deflection(client, database, articles):
    body = post_query(client, "I forgot my password").json()
    url = f"{SUGGEST}/{body['session_id']}/feedback"
    assert client.post(url, json={"article_id": articles["password"], "outcome": "viewed"}).status_code == 200
    response = client.post(url, json={"article_id": articles["password"], "outcome": "solved"})
    assert response.status_code == 200
    assert response.json() == {"session_id": body["session_id"], "outcome": "deflected_confirmed"}
    row, _, shown = stored_session(database, body["session_id"])
    assert row.confirmed_at is not None
    assert shown[articles["password"]] == (True, "solved")


def test_typing_after_a_solved_click_starts_a_new_session(client, database, articles):
    body = post_query(client, "I forgot my password").json()
    client.post(
        f"{SUGGEST}/{body['session_id']}/feedback",
        json={"article_id": articles["password"], "outcome": "solved"},
    )
    later = post_query(client, "where is my parcel", session_id=body["session_id"]).json()
    assert later["session_id"] != body["session_id"]
    row, queries, _ = stored_session(database, body["session_id"])
    assert row.outcome is SessionOutcome.DEFLECTED_CONFIRMED and queries == ["I forgot my password"]


def test_not_helpful_is_recorded_and_leaves_the_session_pending(client, database, articles):
    body = post_query(client, "where is my parcel").json()
    response = client.post(
        f"{SUGGEST}/{body['session_id']}/feedback",
        json={"article_id": articles["tracking"], "outcome": "not_helpful"},
    )
    assert response.json()["outcome"] == "pending"
    _, _, shown = stored_session(database, body["session_id"])
    assert shown[articles["tracking"]] == (True, "not_helpful")


def test_holdout_session_sees_nothing_but_search_is_recorded(client, database, articles, setting):
    setting("deflection_holdout_share", "1")
    body = post_query(client, "I forgot my password").json()
    assert body["holdout"] is True and body["suggestions"] == [] and body["abstained"] is False
    row, _, shown = stored_session(database, body["session_id"])
    assert row.holdout is True
    # What would have been shown is kept, so holdout and treated compare on the same footing.
    assert shown[articles["password"]] == (False, None)
    # Feedback only for articles the customer actually saw.
    response = client.post(
        f"{SUGGEST}/{body['session_id']}/feedback",
        json={"article_id": articles["password"], "outcome": "solved"},
    )
    assert response.status_code == 422


def test_a_public_caller_cannot_claim_to_be_a_customer(client, database, articles):
    from relaydesk.customers import service as customers

    with database.transaction() as session:
        victim = customers.create_customer(
            session,
            CustomerCreate(
                name="Vic", identities=[IdentityIn(kind=IdentityKind.EMAIL, value="vic@example.com")]
            ),
        ).id
    body = post_query(client, "I forgot my password", customer_id=victim).json()
    row, _, _ = stored_session(database, body["session_id"])
    assert row.customer_id is None


def test_a_known_chat_visitor_is_linked_to_their_customer(client, database, articles):
    from relaydesk.customers import service as customers

    with database.transaction() as session:
        known = customers.create_customer(
            session,
            CustomerCreate(identities=[IdentityIn(kind=IdentityKind.CHAT_VISITOR, value="v-known-123")]),
        ).id
    body = post_query(client, "I forgot my password", visitor_id="v-known-123").json()
    row, _, _ = stored_session(database, body["session_id"])
    assert row.customer_id == known and row.visitor_id == "v-known-123"


def test_bad_input_gets_a_clear_4xx(client, database, articles):
    cases = [
        ({"query": "   ", "channel": "web_chat"}, 422, "query"),
        ({"query": "x" * 501, "channel": "web_chat"}, 422, "query"),
        ({"query": "hello", "channel": "internal"}, 422, "channel"),
        ({"query": "hello", "channel": "carrier_pigeon"}, 422, "channel"),
        ({"query": "hello", "channel": "web_chat", "session_id": "../../etc"}, 422, "session_id"),
        ({"query": "hello", "channel": "web_chat", "extra": 1}, 422, "extra"),
    ]
    for payload, status, field in cases:
        response = client.post(SUGGEST, json=payload)
        assert response.status_code == status, payload
        assert field in response.text
    unknown = client.post(
        SUGGEST, json={"query": "hello", "channel": "web_chat", "session_id": "nosuchsession"}
    )
    assert unknown.status_code == 404
    assert "leave session_id out" in unknown.json()["error"]["message"]
    body = post_query(client, "I forgot my password").json()
    feedback = f"{SUGGEST}/{body['session_id']}/feedback"
    assert client.post(feedback, json={"article_id": 999999, "outcome": "solved"}).status_code == 422
    assert (
        client.post(feedback, json={"article_id": articles["password"], "outcome": "meh"}).status_code == 422
    )
    missing = client.post(f"{SUGGEST}/nosuchsession/feedback", json={"article_id": 1, "outcome": "solved"})
    assert missing.status_code == 404


def test_oversized_bodies_are_refused(client, database):
    response = client.post(
        SUGGEST, content=b'{"query": "' + b"a" * 70_000 + b'"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_public_endpoints_are_rate_limited_per_client(client, database, articles, setting):
    setting("deflection_rate_per_minute", "3")
    statuses = [post_query(client, "I forgot my password").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "retry" in post_query(client, "again").json()["error"]["message"]


def test_query_rows_are_bounded_by_what_was_typed(client, database, articles):
    body = post_query(client, "where is my parcel").json()
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(SuggestionQuery)) == 1
        rows = session.scalars(select(SuggestedArticle)).all()
        assert len(rows) == len({r.article_id for r in rows}) <= 3
    assert body["suggestions"]


def test_widgets_on_other_origins_can_call_and_read_errors(client, database, articles):
    origin = {"Origin": "https://shop.example.com"}
    preflight = client.options(SUGGEST, headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    ok = client.post(SUGGEST, json={"query": "I forgot my password", "channel": "web_chat"}, headers=origin)
    assert ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    bad = client.post(SUGGEST, json={"query": "", "channel": "web_chat"}, headers=origin)
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == "https://shop.example.com"


def test_concurrent_requests_of_one_session_all_succeed(client, database, articles):
    from concurrent.futures import ThreadPoolExecutor

    # Abstains: no articles yet.
    session_id = post_query(client, "can I pay with bitcoin").json()["session_id"]

    def ask(text):
        return client.post(SUGGEST, json={"query": text, "channel": "web_chat", "session_id": session_id})

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(ask, ["where is my parcel"] * 3 + ["track my parcel please"] * 3))
    assert [r.status_code for r in responses] == [200] * 6
    _, _, shown = stored_session(database, session_id)
    assert articles["tracking"] in shown
