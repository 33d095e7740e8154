"""Admin pages for agents, teams, skills and languages: who may see and change them, and every
form's refusals shown next to the field with a 4xx (never a 500), through agents.service."""

from __future__ import annotations

import html
import re

import pytest

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentUpdate, SkillIn
from relaydesk.auth.roles import Role
from tests.factories import make_agent, make_team, sign_in_agent

PAGES = ["/admin/agents", "/admin/agents/new", "/admin/teams", "/admin/skills", "/admin/languages"]


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'data-field="{re.escape(name)}">([^<]*)<', page)
    assert match is not None, f"no error shown next to {name!r}"
    return html.unescape(match.group(1))


def _agent_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {"name": "Sam Rivera", "role": "agent", "tier_level": "1", "languages": "en",
                               "timezone": "UTC"}  # fmt: skip
    form.update(changes)
    return form


@pytest.fixture
def admin(client, database):
    login = make_agent(database, Role.ADMIN)
    return login, sign_in_agent(client, login)


# -- who may do what -----------------------------------------------------------------------------------


def test_agents_are_refused_every_admin_page(client, database):
    sign_in_agent(client, make_agent(database, Role.AGENT))
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "need the lead role" in response.text or "need the admin role" in response.text
    assert "/admin/agents" not in client.get("/tickets").text  # no link to them either


def test_signed_out_visitors_are_sent_to_sign_in(client, database):
    response = client.get("/admin/agents", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/agents"


def test_leads_read_but_cannot_change(client, database):
    team = make_team(database, "Billing")
    other = make_agent(database, Role.AGENT, team_ids=[team])
    lead = make_agent(database, Role.LEAD)
    csrf = sign_in_agent(client, lead)
    assert 'href="/admin/agents"' in client.get("/tickets").text
    for path in ["/admin/agents", "/admin/teams", "/admin/skills", "/admin/languages"]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'data-testid="read-only"' in page.text
    page = client.get(f"/admin/agents/{other.agent_id}").text
    assert (
        'name="name" value="Agent' in page and "disabled" in page and "<button" not in page.split("<form")[-1]
    )
    assert client.get("/admin/agents/new").status_code == 403
    refused = client.post(f"/admin/agents/{other.agent_id}", data={**_agent_form(), "csrf_token": csrf})
    assert refused.status_code == 403
    assert client.post("/admin/teams", data={"name": "Night", "csrf_token": csrf}).status_code == 403
    with database.transaction() as session:
        assert agents.get_agent(session, other.agent_id).name != "Sam Rivera"
        assert agents.team_by_name(session, "Night") is None


def test_admin_form_without_its_csrf_token_is_refused(client, database, admin):
    login, _ = admin
    response = client.post(f"/admin/agents/{login.agent_id}", data=_agent_form(role="admin"))
    assert response.status_code == 403
    assert "form expired" in response.text


# -- agents --------------------------------------------------------------------------------------------


def test_admin_creates_an_agent_with_everything_routing_reads(client, database, admin):
    _, csrf = admin
    team = make_team(database, "Billing")
    form = _agent_form(
        email="sam@example.com", password="", languages="en, DE", tier_level="2", team_ids=str(team),
        skill=["billing", "refunds", ""], level=["4", "2", "1"],
        **{"capacity.web_chat": "3", "capacity.email": "10", "capacity.sms": "",
           "timezone": "Europe/Berlin", "hours.mon": "09:00-12:30, 13:30-17:00", "hours.sat": "10:00-14:00"},
    )  # fmt: skip
    response = client.post("/admin/agents/new", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    with database.transaction() as session:
        sam = agents.agent_by_email(session, "sam@example.com")
        assert sam is not None
        assert sorted((s.skill, s.level) for s in sam.skills) == [("billing", 4), ("refunds", 2)]
        assert sam.languages == ["en", "de"]
        assert sam.tier_level == 2
        assert sam.capacity == {"web_chat": 3, "email": 10}
        assert sam.timezone == "Europe/Berlin"
        assert sam.working_hours == {"mon": ["09:00-12:30", "13:30-17:00"], "sat": ["10:00-14:00"]}
        assert sam.team_ids == [team]
    assert response.headers["location"] == f"/admin/agents/{sam.id}?saved=1"
    assert 'data-testid="saved"' in client.get(response.headers["location"]).text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "not a valid email address"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"password": "short"}, "password", "at least 10 characters"),
        ({"timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not a time zone name"),
        ({"hours.tue": "17:00-09:00"}, "hours.tue", "'17:00-09:00' ends before it starts"),
        ({"hours.wed": "9 to 5"}, "hours.wed", "is not a span like '09:00-17:30'"),
        ({"capacity.email": "lots"}, "capacity.email", "enter how many conversations at once"),
        ({"languages": "english!"}, "languages", "'english!' is not a language code"),
        ({"role": "overlord"}, "role", "Input should be 'agent', 'lead', 'manager' or 'admin'"),
        ({"tier_level": "9"}, "tier_level", "less than or equal to 6"),
        ({"skill": ["billing", "Billing"], "level": ["2", "3"]}, "skills", "billing is listed twice"),
        ({"team_ids": "999"}, "team_ids", "Unknown team ids [999]"),
    ],
)
def test_new_agent_form_explains_each_refusal_next_to_its_field(
    client, database, admin, changes, field, message
):
    _, csrf = admin
    form = {**_agent_form(email="new@example.com"), **changes, "csrf_token": csrf}
    response = client.post("/admin/agents/new", data=form)
    assert response.status_code == 422, response.text
    assert message in _field_error(response.text, field)
    assert 'value="new@example.com"' in response.text or field == "email"  # what was typed is kept
    with database.transaction() as session:
        assert agents.agent_by_email(session, "new@example.com") is None


def test_duplicate_email_is_a_conflict_next_to_the_email(client, database, admin):
    login, csrf = admin
    response = client.post("/admin/agents/new", data={**_agent_form(email=login.email), "csrf_token": csrf})
    assert response.status_code == 409
    assert "already exists" in _field_error(response.text, "email")


def test_admin_edits_skills_capacity_and_hours(client, database, admin):
    _, csrf = admin
    other = make_agent(database)
    with database.transaction() as session:
        update = AgentUpdate(skills=[SkillIn(skill="returns", level=2)], capacity={"email": 5, "fax": 1})
        agents.update_agent(session, other.agent_id, update)
    page = client.get(f"/admin/agents/{other.agent_id}").text
    assert 'name="skill" value="returns"' in page
    assert 'name="capacity.fax" value="1"' in page  # a channel the page does not know is kept, not dropped
    fields = {
        "capacity.email": "8",
        "capacity.fax": "1",
        "capacity.web_chat": "2",
        "hours.fri": "08:00-16:00",
    }
    form = _agent_form(
        active="on", skill=["returns", "billing"], level=["3", "5"], timezone="America/New_York", **fields
    )
    response = client.post(
        f"/admin/agents/{other.agent_id}", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    with database.transaction() as session:
        agent = agents.get_agent(session, other.agent_id)
        assert sorted((s.skill, s.level) for s in agent.skills) == [("billing", 5), ("returns", 3)]
        assert agent.capacity == {"web_chat": 2, "email": 8, "fax": 1}
        assert agent.working_hours == {"fri": ["08:00-16:00"]}
        assert agent.name == "Sam Rivera" and agent.active


def test_refused_edit_changes_nothing(client, database, admin):
    _, csrf = admin
    team = make_team(database, "Billing")
    other = make_agent(database)
    # Teams are set before skills are checked in the service: the savepoint must undo them.
    form = _agent_form(active="on", team_ids=str(team), skill=["billing", "BILLING"], level=["1", "2"])
    response = client.post(f"/admin/agents/{other.agent_id}", data={**form, "csrf_token": csrf})
    assert response.status_code == 422
    assert "listed twice" in _field_error(response.text, "skills")
    with database.transaction() as session:
        agent = agents.get_agent(session, other.agent_id)
        assert agent.team_ids == [] and agent.name != "Sam Rivera"


def test_admin_cannot_deactivate_or_demote_themselves(client, database, admin):
    login, csrf = admin
    response = client.post(
        f"/admin/agents/{login.agent_id}", data={**_agent_form(role="admin"), "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert "cannot deactivate yourself" in _field_error(response.text, "active")
    response = client.post(
        f"/admin/agents/{login.agent_id}", data={**_agent_form(role="agent", active="on"), "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert "change your own role" in _field_error(response.text, "role")


def test_unknown_agent_is_a_404_page(client, database, admin):
    response = client.get("/admin/agents/9999")
    assert response.status_code == 404
    assert "No agent with id 9999" in response.text


# -- teams ---------------------------------------------------------------------------------------------


def test_admin_creates_a_team_and_sets_parent_and_members(client, database, admin):
    _, csrf = admin
    parent = make_team(database, "Tier 2")
    a, b = make_agent(database), make_agent(database)
    response = client.post(
        "/admin/teams",
        data={"name": "Billing", "description": "Money", "parent_id": str(parent), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    team_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    form = {"name": "Billing", "description": "Money", "parent_id": str(parent), "restricted": "on",
            "members": [str(a.agent_id), str(b.agent_id)], "csrf_token": csrf}  # fmt: skip
    assert client.post(f"/admin/teams/{team_id}", data=form, follow_redirects=False).status_code == 303
    form["members"] = [str(b.agent_id)]
    assert client.post(f"/admin/teams/{team_id}", data=form, follow_redirects=False).status_code == 303
    with database.transaction() as session:
        team = agents.get_team(session, team_id)
        assert (team.parent_id, team.restricted) == (parent, True)
        assert [p.id for p in agents.list_agents(session, team_id=team_id)] == [b.agent_id]
        assert agents.get_agent(session, a.agent_id).team_ids == []
    listing = client.get("/admin/teams").text
    assert "Tier 2" in listing and "Billing" in listing


def test_team_forms_explain_their_refusals(client, database, admin):
    _, csrf = admin
    first = make_team(database, "First line")
    response = client.post("/admin/teams", data={"name": "first LINE", "csrf_token": csrf})
    assert response.status_code == 409
    assert "already exists" in _field_error(response.text, "name")
    response = client.post("/admin/teams", data={"name": "", "csrf_token": csrf})
    assert response.status_code == 422
    assert "at least 1 character" in _field_error(response.text, "name")
    second = client.post(
        "/admin/teams",
        data={"name": "Second line", "parent_id": str(first), "csrf_token": csrf},
        follow_redirects=False,
    )
    second_id = int(second.headers["location"].split("/")[-1].split("?")[0])
    looping = {"name": "First line", "parent_id": str(second_id), "members": ["12345"], "csrf_token": csrf}
    response = client.post(f"/admin/teams/{first}", data=looping)
    assert response.status_code == 422
    assert "overflow would loop" in _field_error(response.text, "parent_id")
    response = client.post(f"/admin/teams/{first}", data={**looping, "parent_id": ""})
    assert response.status_code == 422
    assert "Unknown agent ids [12345]" in _field_error(response.text, "members")
    with database.transaction() as session:
        assert agents.get_team(session, first).parent_id is None


# -- overviews -----------------------------------------------------------------------------------------


def test_skills_and_languages_overviews(client, database, admin):
    a, b = make_agent(database), make_agent(database)
    with database.transaction() as session:
        ana = AgentUpdate(name="Ana", languages=["en", "es"], skills=[SkillIn(skill="billing", level=2)])
        agents.update_agent(session, a.agent_id, ana)
        ben_skills = [SkillIn(skill="billing", level=5), SkillIn(skill="returns", level=1)]
        agents.update_agent(session, b.agent_id, AgentUpdate(name="Ben", languages=["en"], skills=ben_skills))
    skills = client.get("/admin/skills").text
    billing = skills.split('data-skill="billing"')[1].split("</tr>")[0]
    assert billing.index("Ben") < billing.index("Ana")  # strongest first
    assert "(5)" in billing and "(2)" in billing
    assert 'data-skill="returns"' in skills
    languages = client.get("/admin/languages").text
    spanish = languages.split('data-language="es"')[1].split("</tr>")[0]
    assert "Ana" in spanish and "Ben" not in spanish


def test_agent_page_lists_recent_presence_changes(client, database, clock, admin):
    login, csrf = admin
    assert client.post("/presence", data={"status": "online", "csrf_token": csrf}).status_code == 200
    page = client.get(f"/admin/agents/{login.agent_id}").text
    changes = page.split('data-testid="presence-changes"')[1].split("</table>")[0]
    assert "<td>2026-12-07 09:00</td><td>offline</td><td>online</td><td>self</td>" in changes
