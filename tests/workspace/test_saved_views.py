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


def _names(client, headers=None) -> list[str]:
    if headers is not None:
        return [v["name"] for v in client.get("/api/v1/views", headers=headers).json()]
    aside = client.get("/tickets").text.split('aria-label="Inbox views"')[1].split("</nav>")[0]
    return re.findall(r'data-view="saved:\d+">(.*?) <span', aside)


def test_an_agent_moves_a_view_up_and_down_in_the_sidebar(client, database):
    login = make_agent(database)
    csrf = sign_in_agent(client, login)
    ids = [
        int(re.search(r"saved=(\d+)", save(client, csrf, name, "flag=vip").headers["location"]).group(1))
        for name in ("Alpha", "Beta", "Gamma")
    ]

    def move(view_id: int, to: str, token: str = csrf):
        return client.post(
            f"/tickets/views/{view_id}/move", data={"to": to, "csrf_token": token}, follow_redirects=False
        )

    assert 'data-action="move-view-up"' in client.get(f"/tickets?saved={ids[2]}").text
    moved = move(ids[2], "up")
    assert moved.status_code == 303 and moved.headers["location"] == f"/tickets?saved={ids[2]}"
    assert _names(client) == ["Alpha", "Gamma", "Beta"]
    assert move(ids[0], "up").status_code == 303  # the first stays first
    assert move(ids[0], "down").status_code == 303
    assert _names(client) == ["Gamma", "Alpha", "Beta"]
    assert move(ids[1], "down").status_code == 303  # the last stays last
    assert _names(client) == ["Gamma", "Alpha", "Beta"]

    assert move(ids[0], "sideways").status_code == 422
    assert move(ids[0], "up", token="forged").status_code == 403
    other = make_agent(database)
    with database.transaction() as session:
        theirs = views.create_view(session, other.agent_id, "Theirs", views.InboxFilters())
    refused = move(theirs.id, "up")
    assert refused.status_code == 404 and f"You have no saved view {theirs.id}" in refused.text


def test_moving_a_view_renumbers_the_agent_s_views(database):
    login = make_agent(database)
    with database.transaction() as session:
        made = [views.create_view(session, login.agent_id, n, views.InboxFilters()) for n in "ABCD"]
        in_order = views.move_view(session, login.agent_id, made[0].id, 99)  # past the end: last
        assert [(v.name, v.position) for v in in_order] == [("B", 1), ("C", 2), ("D", 3), ("A", 4)]
        in_order = views.move_view(session, login.agent_id, made[2].id, 1)
        assert [v.name for v in in_order] == ["C", "B", "D", "A"]
        assert [v.name for v in views.list_views(session, login.agent_id)] == ["C", "B", "D", "A"]
        with pytest.raises(ValidationFailedError):
            views.move_view(session, login.agent_id, made[0].id, 0)


def test_the_api_lists_renames_and_moves_an_agent_s_own_views(client, database):
    login = make_agent(database)
    with database.transaction() as session:
        first = views.create_view(session, login.agent_id, "Urgent", views.InboxFilters(priority=["urgent"]))
        second = views.create_view(session, login.agent_id, "VIP", views.InboxFilters(flag=["vip"]))

    listed = client.get("/api/v1/views", headers=login.headers)
    assert listed.status_code == 200
    assert listed.json()[0] == {
        "id": first.id,
        "name": "Urgent",
        "position": 1,
        "filters": "priority=urgent",
        "problem": None,
    }

    renamed = client.patch(f"/api/v1/views/{first.id}", json={"name": " Hot "}, headers=login.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Hot"
    both = client.patch(
        f"/api/v1/views/{second.id}", json={"name": "Very important", "position": 1}, headers=login.headers
    )
    assert both.status_code == 200 and both.json()["position"] == 1
    assert _names(client, login.headers) == ["Very important", "Hot"]

    def patch(body, view_id: int = first.id, headers=login.headers):
        return client.patch(f"/api/v1/views/{view_id}", json=body, headers=headers)

    taken = patch({"name": "Very important"})
    assert taken.status_code == 409 and "already have a view named" in taken.json()["error"]["message"]
    assert patch({}).status_code == 422
    assert patch({"position": 0}).status_code == 422
    assert patch({"name": ""}).status_code == 422
    assert patch({"colour": "red"}).status_code == 422
    other = make_agent(database)
    assert patch({"name": "Mine now"}, headers=other.headers).status_code == 404
    assert client.patch(f"/api/v1/views/{first.id}", json={"name": "X"}).status_code == 401
    with database.transaction() as session:  # a token that acts for no agent has no views
        from relaydesk.auth.roles import Role
        from relaydesk.auth.tokens import create_token

        robot = create_token(session, name="robot", role=Role.ADMIN).plaintext
    nobody = patch({"name": "X"}, headers={"Authorization": f"Bearer {robot}"})
    assert nobody.status_code == 403
    assert _names(client, login.headers) == ["Very important", "Hot"]
