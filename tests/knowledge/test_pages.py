"""The agent editor of the knowledge base (/kb), server-rendered. The public help center's pages are
deflection's (tests/deflection/test_help_center_pages.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.knowledge import service
from relaydesk.knowledge.enums import Visibility
from relaydesk.knowledge.models import Article
from tests.factories import make_agent, sign_in_agent
from tests.knowledge.conftest import add_article


def test_a_lead_writes_and_publishes_an_article_in_the_editor(client, database):
    lead = make_agent(database, Role.LEAD)
    csrf = sign_in_agent(client, lead)
    created = client.post(
        "/kb/new",
        data={"title": "Gift cards", "body": "Gift cards **never** expire.", "tags": "billing, gifts",
              "questions": "do gift cards expire\r\n\r\n  is my  voucher still good\r\nDo gift cards expire",
              "locale": "en", "visibility": "public", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    path = created.headers["location"]
    article_id = int(path.rsplit("/", 1)[1])
    editor = client.get(path).text
    assert "Gift cards" in editor and "<strong>never</strong>" in editor and "created" in editor
    assert "Other ways customers ask this" in editor
    assert ">do gift cards expire\nis my voucher still good</textarea>" in editor
    published = client.post(
        path,
        data={"title": "Gift cards", "body": "Gift cards never expire.", "tags": "billing", "locale": "en",
              "questions": "do gift cards expire\nwill my gift card run out", "visibility": "public",
              "version": "1", "action": "publish", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert published.status_code == 303
    with database.transaction(read_only=True) as session:
        article = service.get_article(session, article_id)
        assert article.questions == ["do gift cards expire", "will my gift card run out"]
        assert [v.questions for v in service.list_versions(session, article)] == [
            ["do gift cards expire", "is my voucher still good"],
            ["do gift cards expire", "will my gift card run out"],
            ["do gift cards expire", "will my gift card run out"],
        ]
    cleared = client.post(
        path,
        data={"title": "Gift cards", "body": "Gift cards never expire.", "tags": "billing", "locale": "en",
              "questions": "", "visibility": "public", "version": "3", "action": "save", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert cleared.status_code == 303
    with database.transaction(read_only=True) as session:
        assert service.get_article(session, article_id).questions == []
    listing = client.get("/kb").text
    assert "Gift cards" in listing and "published" in listing
    assert client.get(f"/help/en/articles/{path.rsplit('/', 1)[1]}-gift-cards").status_code == 200
    preview = client.post("/kb/preview", data={"body": "# Hi <script>x</script>"})
    assert "<h1>Hi" in preview.text and "<script>" not in preview.text


def test_a_question_too_long_in_the_editor_names_its_line_and_keeps_what_was_typed(client, database):
    lead = make_agent(database, Role.LEAD)
    csrf = sign_in_agent(client, lead)
    typed = "do gift cards expire\n\n" + "x" * 301
    refused = client.post(
        "/kb/new",
        data={"title": "Gift cards", "body": "Never.", "questions": typed, "locale": "en",
              "visibility": "public", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 400
    assert "Other ways customers ask this, line 3: String should have at most 300 characters" in refused.text
    assert f">{typed}</textarea>" in refused.text
    assert client.get("/kb").text.count("Gift cards") == 0


def test_an_agent_reads_articles_but_cannot_edit_or_forge_a_form(client, database):
    article = add_article(database, "Gift cards", "Never expire.", visibility=Visibility.INTERNAL)
    agent = make_agent(database, Role.AGENT)
    sign_in_agent(client, agent)
    page = client.get(f"/kb/{article}")
    assert page.status_code == 200 and "Never expire." in page.text and 'name="title"' not in page.text
    forged = client.post(f"/kb/{article}", data={"title": "Hacked", "action": "save", "csrf_token": "x"})
    assert forged.status_code == 403
    assert client.get("/kb/new").status_code == 403


@pytest.mark.parametrize("action", ["create", "save", "add_questions"])
@pytest.mark.parametrize("forged_token", ["", "not-the-session-token"], ids=["missing", "wrong"])
def test_a_lead_s_editor_form_without_the_session_s_csrf_token_changes_nothing(
    client, database, action, forged_token
):
    """A page elsewhere that makes a signed-in lead's browser post the form is refused (the role check
    passes here, so only the CSRF check stands between it and the knowledge base)."""
    article = add_article(database, "Gift cards", "Never expire.")
    lead = make_agent(database, Role.LEAD)
    csrf = sign_in_agent(client, lead)
    path, form = {
        "create": ("/kb/new", {"title": "Planted", "body": "Call +1 555 0100.", "locale": "en",
                              "visibility": "public"}),
        "save": (f"/kb/{article}", {"title": "Planted", "body": "Call +1 555 0100.", "locale": "en",
                                    "visibility": "public", "version": "1", "action": "publish"}),
        "add_questions": (f"/kb/{article}/questions", {"question": ["planted question"]}),
    }[action]  # fmt: skip

    def knowledge_base():
        with database.transaction(read_only=True) as session:
            articles = session.scalars(select(Article).order_by(Article.id))
            return [(a.title, a.body, a.status, a.questions) for a in articles]

    before = knowledge_base()
    forged = client.post(path, data={**form, "csrf_token": forged_token}, follow_redirects=False)
    assert forged.status_code == 403
    assert knowledge_base() == before
    genuine = client.post(path, data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert genuine.status_code == 303 and knowledge_base() != before


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/kb", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
