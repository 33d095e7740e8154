"""@mentions in internal notes notify the mentioned agent in the app: a row, a badge, a list."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate
from relaydesk.realtime.fanout import publish_after_commit, subscribe
from relaydesk.workspace.notifications import AgentNotification, mentioned_agents
from tests.factories import PASSWORD, Login, count, make_agent, sign_in_agent
from tests.workspace.conftest import SignedIn, on_plain_thread, signed_in_agent


def named_agent(database, name: str, email: str, team_ids: list[int] | None = None) -> Login:
    with database.transaction() as session:
        agent = agents.create_agent(
            session, AgentCreate(email=email, name=name, password=PASSWORD, team_ids=team_ids or [])
        )
        return Login(agent.id, email, "")


def test_mentions_by_full_name_first_name_and_email(database):
    kim = named_agent(database, "Kim Nguyen", "kim@example.com")
    sam = named_agent(database, "Sam Park", "sam@example.com")
    alex1 = named_agent(database, "Alex One", "alex1@example.com")
    named_agent(database, "Alex Two", "alex2@example.com")
    with database.transaction(read_only=True) as session:
        assert mentioned_agents(session, "ask @Kim Nguyen") == [kim.agent_id]
        assert mentioned_agents(session, "ask @kim, thanks") == [kim.agent_id]
        assert mentioned_agents(session, "cc @sam@example.com") == [sam.agent_id]
        assert mentioned_agents(session, "@alex?") == []  # two Alexes: the first name names nobody
        assert mentioned_agents(session, "@Alex One") == [alex1.agent_id]
        assert mentioned_agents(session, "mail kim@example.com or @kimberly") == []


def test_a_mention_notifies_the_agent_who_sees_the_badge_and_the_list(client, database, agent, ticket_id):
    kim = named_agent(database, "Kim Nguyen", "kim@example.com")
    response = agent.post(f"/tickets/{ticket_id}/note", {"body": "@Kim Nguyen can you check the refund?"})
    assert response.status_code == 200
    with database.transaction(read_only=True) as session:
        row = session.scalars(select(AgentNotification)).one()
        assert row.agent_id == kim.agent_id and row.ticket_id == ticket_id and row.read_at is None
        assert "mentioned you" in row.text and "check the refund" in row.text

    kim_csrf = sign_in_agent(client, kim)
    kim_client = SignedIn(client, kim, kim_csrf)
    badge = kim_client.get("/notifications/badge")
    assert badge.status_code == 200 and ">1<" in badge.text and "hidden" not in badge.text
    page = kim_client.get("/notifications")
    assert "check the refund" in page.text and 'data-testid="notification"' in page.text
    read = kim_client.post(f"/notifications/{row.id}/read")
    assert read.status_code == 204 and read.headers["HX-Redirect"] == f"/tickets/{ticket_id}"
    assert ">0<" in kim_client.get("/notifications/badge").text


def test_the_author_and_unmentioned_agents_get_nothing(database, agent, ticket_id):
    make_agent(database)
    agent.post(f"/tickets/{ticket_id}/note", {"body": "no mention here, mail a@b.example"})
    assert count(database, AgentNotification) == 0


def test_a_mention_of_an_agent_outside_a_restricted_team_is_not_delivered(client, database, legal):
    team, restricted = legal
    named_agent(database, "Olga Outsider", "olga@example.com")
    member_kim = named_agent(database, "Kim Member", "kimm@example.com", team_ids=[team])
    member = signed_in_agent(client, database, team_ids=[team])
    member.post(f"/tickets/{restricted}/note", {"body": "@Olga Outsider and @Kim Member please look"})
    with database.transaction(read_only=True) as session:
        assert [n.agent_id for n in session.scalars(select(AgentNotification))] == [member_kim.agent_id]


def test_one_agent_cannot_read_anothers_notification(client, database, agent, ticket_id):
    kim = named_agent(database, "Kim Nguyen", "kim@example.com")
    agent.post(f"/tickets/{ticket_id}/note", {"body": "@kim hi"})
    with database.transaction(read_only=True) as session:
        row_id = session.scalars(select(AgentNotification.id)).one()
    assert agent.post(f"/notifications/{row_id}/read").status_code == 404
    assert kim.agent_id != agent.login.agent_id


def test_events_are_published_after_commit_and_never_after_rollback(database):
    async def scenario() -> list[dict]:
        received: list[dict] = []
        async with subscribe("agent:77") as events:

            def write(fail: bool) -> None:
                try:
                    with database.transaction() as session:
                        publish_after_commit(session, "agent:77", {"type": "notification", "fail": fail})
                        if fail:
                            raise RuntimeError("rolled back")
                except RuntimeError:
                    pass

            await asyncio.to_thread(write, True)
            await asyncio.to_thread(write, False)
            received.append(await asyncio.wait_for(anext(aiter(events)), timeout=5))
        return received

    # On a thread of its own: after a browser test, Playwright keeps a loop running on this one.
    assert on_plain_thread(asyncio.run, scenario()) == [{"type": "notification", "fail": False}]
