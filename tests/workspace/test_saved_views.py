"""Saved inbox views: each agent's own, created, renamed and deleted from the page, validated."""

from __future__ import annotations

import re

import pytest

from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.workspace import views
from relaydesk.workspace.models_views import SavedView
from tests.factories import count, make_agent, make_ticket, sign_in_agent


def save(client, csrf: str, name: str, filters: str = ""):
    return client.post(
        "/tickets/views",
        data={"name": name, "filters": filters, "csrf_token": csrf},
        follow_redirects=False,
    )


def test_an_agent_saves_renames_and_deletes_a_view_from_the_page(client, database):
    login = make_agent(database)
    make_ticket(database, email="urgent@example.com")
    csrf = sign_in_agent(client, login)
    saved = save(client, csrf, "  Urgent chats ", "view=unassigned&priority=urgent&channel=web_chat")
    assert saved.status_code == 303
    view_id = int(re.search(r"saved=(\d+)", saved.headers["location"]).group(1))
    page = client.get(f"/tickets?saved={view_id}")
    assert page.status_code == 200
    assert "<h1>Urgent chats</h1>" in page.text
    assert f'data-testid="count-saved:{view_id}">0<' in page.text  # in the sidebar, with its count
    assert 'value="urgent" selected' in page.text  # the view's filters fill the form

    renamed = client.post(
        f"/tickets/views/{view_id}/rename",
        data={"name": "Hot chats", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    assert "<h1>Hot chats</h1>" in client.get(f"/tickets?saved={view_id}").text

    deleted = client.post(
        f"/tickets/views/{view_id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert count(database, SavedView) == 0
    assert client.get(f"/tickets?saved={view_id}").status_code == 400


@pytest.mark.parametrize(
    ("name", "filters", "status", "message"),
    [
        ("", "", 422, "1 to 60 characters"),
        ("x" * 61, "", 422, "1 to 60 characters"),
        ("Odd", "priority=critical", 422, "priority"),
        ("Odd", "colour=red", 422, "colour"),
    ],
)
def test_a_view_that_cannot_be_saved_is_a_4xx_with_the_reason(
    client, database, name, filters, status, message
):
    csrf = sign_in_agent(client, make_agent(database))
    response = save(client, csrf, name, filters)
    assert response.status_code == status
    assert message in response.text
    assert count(database, SavedView) == 0


def test_two_views_of_one_agent_cannot_share_a_name_but_two_agents_can(client, database):
    ana, ben = make_agent(database), make_agent(database)
    csrf = sign_in_agent(client, ana)
    assert save(client, csrf, "Mine today", "view=mine").status_code == 303
    again = save(client, csrf, "Mine today", "view=all")
    assert again.status_code == 409 and "already have a view named" in again.text
    csrf = sign_in_agent(client, ben)
    assert save(client, csrf, "Mine today", "view=mine").status_code == 303


def test_another_agent_s_view_is_out_of_reach(client, database):
    ana, ben = make_agent(database), make_agent(database)
    with database.transaction() as session:
        view = views.create_view(session, ana.agent_id, "Ana's", views.InboxFilters())
    csrf = sign_in_agent(client, ben)
    assert client.get(f"/tickets?saved={view.id}").status_code == 400
    response = client.post(
        f"/tickets/views/{view.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 404
    assert count(database, SavedView) == 1
    assert "Ana&#39;s" not in client.get("/tickets").text


def test_the_forms_need_the_page_s_csrf_token(client, database):
    sign_in_agent(client, make_agent(database))
    assert save(client, "forged", "Mine").status_code == 403
    assert count(database, SavedView) == 0


def test_views_keep_their_order_and_a_limit(database):
    login = make_agent(database)
    with database.transaction() as session:
        for n in range(views.MAX_SAVED_VIEWS):
            views.create_view(session, login.agent_id, f"View {n}", views.InboxFilters(flag=["vip"]))
        with pytest.raises(ConflictError):
            views.create_view(session, login.agent_id, "One more", views.InboxFilters())
        listed = views.list_views(session, login.agent_id)
        assert [v.name for v in listed] == [f"View {n}" for n in range(views.MAX_SAVED_VIEWS)]
        with pytest.raises(ValidationFailedError):
            views.rename_view(session, login.agent_id, listed[0].id, " ")
        with pytest.raises(NotFoundError):
            views.delete_view(session, login.agent_id + 1000, listed[0].id)


def test_a_view_saved_with_filters_that_no_longer_validate_shows_as_broken_not_as_a_500(client, database):
    login = make_agent(database)
    with database.transaction() as session:
        session.add(SavedView(agent_id=login.agent_id, name="Old", filters={"mood": "angry"}, position=1))
    sign_in_agent(client, login)
    page = client.get("/tickets")
    assert page.status_code == 200 and re.search(r'data-testid="count-saved:\d+">!<', page.text)
    view_id = re.search(r"saved=(\d+)", page.text).group(1)
    broken = client.get(f"/tickets?saved={view_id}")
    assert broken.status_code == 400 and "no longer applies" in broken.text
