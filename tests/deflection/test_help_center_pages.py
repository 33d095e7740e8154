"""The public help center's pages (/help/{locale}), server-rendered by deflection/help_center.py from the
articles knowledge publishes."""

from __future__ import annotations

from relaydesk.knowledge import service
from relaydesk.knowledge.enums import ArticleStatus, Visibility
from relaydesk.knowledge.schemas import ArticleCreate
from tests.knowledge.conftest import add_article

HOSTILE = """Open **Settings**.

<script>alert("x")</script>

[click me](javascript:alert(1)) and <img src=x onerror=alert(1)>
"""


def test_a_published_article_renders_sanitised_markdown_at_its_canonical_url(client, database):
    article = add_article(database, "Reset your password", HOSTILE)
    page = client.get(f"/help/en/articles/{article}-reset-your-password")
    assert page.status_code == 200
    body = page.text.split('<article class="kb-article">', 1)[1].split("</article>", 1)[0]
    assert "<strong>Settings</strong>" in body
    # Raw HTML is shown as text, never run: no script element, no javascript: link, no live handler.
    assert "<script" not in body and 'href="javascript' not in body and "<img" not in body
    moved = client.get(f"/help/en/articles/{article}-old-title", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"].endswith(f"/{article}-reset-your-password")
    assert client.get(f"/help/de/articles/{article}-reset-your-password").status_code == 404


def test_internal_and_draft_articles_never_appear_on_public_pages(client, database):
    public = add_article(database, "Refund policy", "Refunds take five days.")
    internal = add_article(
        database, "Refund override for agents", "Press override in billing.", visibility=Visibility.INTERNAL
    )
    draft = add_article(database, "Refund policy 2027", "Draft text.", status=ArticleStatus.DRAFT)
    home = client.get("/help/en").text
    assert "Refund policy" in home and "override" not in home and "2027" not in home
    for hidden in (internal, draft):
        response = client.get(f"/help/en/articles/{hidden}-x", follow_redirects=False)
        assert response.status_code == 404 and "override" not in response.text
    results = client.get("/help/en", params={"q": "refund override in billing"}).text
    shown = results.split("Results for")[1].split("</h1>", 1)[1].split('data-testid="help-contact"')[0]
    assert "override" not in shown  # (the contact link below carries the query itself)
    assert f"/help/en/articles/{public}-refund-policy" in client.get("/help/en", params={"q": "refund"}).text


def test_a_question_nothing_answers_tells_the_customer_to_contact_support(client, database):
    add_article(database, "Refund policy", "Refunds take five days.")
    page = client.get("/help/en", params={"q": "what is the boiling point of water on mount everest"})
    assert 'data-testid="no-results"' in page.text


def test_questions_never_appear_on_public_help_center_pages(client, database):
    with database.transaction() as session:
        article = service.create_article(
            session,
            ArticleCreate(
                title="Gift cards",
                body="Gift cards never expire.",
                category="Billing",
                questions=["my stupid voucher from grandma wont scan"],
                status=ArticleStatus.PUBLISHED,
            ),
            service.Editor(label="test"),
        )
        article_id = article.id
    page = client.get(f"/help/en/articles/{article_id}-gift-cards")
    assert page.status_code == 200 and "Gift cards never expire." in page.text
    results = client.get("/help/en", params={"q": "do gift cards expire"}).text
    assert f"/help/en/articles/{article_id}-gift-cards" in results
    for public in (page.text, client.get("/help/en").text, results):
        assert "grandma" not in public


def test_the_help_center_groups_articles_by_category_and_offers_the_contact_form(client, database):
    for title, category in (("Track a parcel", "Shipping"), ("Reset a password", "Account"),
                            ("Change the address", "Shipping"), ("Opening hours", None)):  # fmt: skip
        with database.transaction() as session:
            article = service.create_article(
                session,
                ArticleCreate(title=title, body=f"{title}: how.", category=category),
                service.Editor(label="test"),
            )
            service.publish_article(session, article, service.Editor(label="test"))
    home = client.get("/help/en").text
    sections = [part.split("</h2>")[0] for part in home.split('data-testid="help-section">')[1:]]
    assert [s.split("<h2>")[1] for s in sections] == ["Account", "Shipping", "More help"]
    shipping = home.split("<h2>Shipping</h2>")[1].split("</section>")[0]
    assert shipping.index("Change the address") < shipping.index("Track a parcel")
    assert 'href="/help/en/contact"' in home

    question = "what is the boiling point of water on mount everest"
    results = client.get("/help/en", params={"q": question}).text
    assert 'data-testid="no-results"' in results
    assert 'href="/help/en/contact?q=what%20is%20the%20boiling' in results
    contact = client.get("/help/en/contact", params={"q": question}).text
    assert f">{question}</textarea>" in contact
