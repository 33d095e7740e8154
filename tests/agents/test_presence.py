"""Presence: an agent's own status over the API, activity noted at most once a minute, auto-away on
the controlled clock, and working hours read in the agent's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.schemas import AgentCreate, AgentUpdate
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import create_token
from relaydesk.jobs.worker import Worker, schedule_periodic_jobs
from tests.factories import form_csrf_token, make_agent, sign_in_agent


def _agent(database, agent_id: int):
    with database.transaction() as session:
        agent = agents.get_agent(session, agent_id)
        session.expunge(agent)
        return agent


def _set_status(database, agent_id: int, status: AgentStatus) -> None:
    with database.transaction() as session:
        agents.set_status(agents.get_agent(session, agent_id), status)


# -- the API -------------------------------------------------------------------------------------------


def test_agent_sets_own_status_over_the_api(client, database, clock):
    login = make_agent(database)
    response = client.patch("/api/v1/agents/me/status", json={"status": "busy"}, headers=login.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "busy"
    assert response.json()["status_changed_at"].startswith("2026-12-07T09:00:00")
    assert _agent(database, login.agent_id).status is AgentStatus.BUSY


def test_unknown_status_is_refused_with_the_choices(client, database):
    login = make_agent(database)
    response = client.patch("/api/v1/agents/me/status", json={"status": "lunch"}, headers=login.headers)
    assert response.status_code == 422
    assert "online" in response.text and "offline" in response.text


def test_token_acting_for_no_agent_has_no_presence(client, database):
    with database.transaction() as session:
        token = create_token(session, name="integration", role=Role.ADMIN, agent_id=None).plaintext
    response = client.patch(
        "/api/v1/agents/me/status", json={"status": "online"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "acts for no agent" in response.json()["error"]["message"]


def test_session_status_change_needs_the_csrf_header(client, database):
    login = make_agent(database)
    csrf = sign_in_agent(client, login)
    refused = client.patch("/api/v1/agents/me/status", json={"status": "away"})
    assert refused.status_code == 403
    allowed = client.patch(
        "/api/v1/agents/me/status", json={"status": "away"}, headers={"X-CSRF-Token": csrf}
    )
    assert allowed.status_code == 200, allowed.text
    assert _agent(database, login.agent_id).status is AgentStatus.AWAY


# -- activity ------------------------------------------------------------------------------------------


def test_activity_is_written_at_most_once_a_minute(client, database, clock):
    login = make_agent(database)
    sign_in_agent(client, login)  # signs in and opens /tickets
    first = _agent(database, login.agent_id).last_active_at
    assert first == clock.now()

    clock.advance(seconds=30)
    assert client.get("/tickets").status_code == 200
    assert client.get("/api/v1/teams").status_code == 200
    assert _agent(database, login.agent_id).last_active_at == first  # throttled: no write

    clock.advance(seconds=31)
    assert client.get("/api/v1/teams").status_code == 200  # an API call by the session counts too
    assert _agent(database, login.agent_id).last_active_at == clock.now()


def test_api_token_calls_are_not_activity(client, database, clock):
    login = make_agent(database)
    assert client.get("/api/v1/teams", headers=login.headers).status_code == 200
    assert _agent(database, login.agent_id).last_active_at is None


# -- auto-away -----------------------------------------------------------------------------------------


def _active_online_agent(client, database, clock) -> int:
    login = make_agent(database)
    sign_in_agent(client, login)
    _set_status(database, login.agent_id, AgentStatus.ONLINE)
    return login.agent_id


def _run_periodic(database) -> None:
    from relaydesk.jobs import discover_tasks

    discover_tasks()
    schedule_periodic_jobs(database)
    worker = Worker(database, schedule_periodic=False)
    while worker.run_once():
        pass


def test_idle_online_agent_goes_away_after_the_limit(client, database, clock):
    agent_id = _active_online_agent(client, database, clock)

    clock.advance(minutes=9, seconds=59)
    _run_periodic(database)
    assert _agent(database, agent_id).status is AgentStatus.ONLINE

    clock.advance(seconds=2)
    _run_periodic(database)
    agent = _agent(database, agent_id)
    assert agent.status is AgentStatus.AWAY
    assert agent.status_changed_at == clock.now()


def test_every_presence_change_is_recorded_with_who_made_it(client, database, clock):
    admin = make_agent(database, Role.ADMIN)
    agent_id = _active_online_agent(client, database, clock)  # set online by the system (set_status)
    clock.advance(minutes=11)
    _run_periodic(database)
    clock.advance(minutes=1)
    assert client.patch(
        f"/api/v1/agents/{agent_id}", json={"status": "offline"}, headers=admin.headers
    ).is_success
    clock.advance(minutes=1)
    csrf = form_csrf_token(client.get("/tickets").text)  # still signed in as the agent
    assert client.patch(
        "/api/v1/agents/me/status", json={"status": "busy"}, headers={"X-CSRF-Token": csrf}
    ).is_success
    with database.transaction() as session:
        changes = [
            (c.from_status.value, c.to_status.value, c.reason.value, c.changed_at.strftime("%H:%M"))
            for c in reversed(agents.status_changes(session, agent_id))
        ]
    assert changes == [
        ("offline", "online", "system", "09:00"),
        ("online", "away", "auto_away", "09:11"),
        ("away", "offline", "admin", "09:12"),
        ("offline", "busy", "self", "09:13"),
    ]


def test_activity_keeps_an_agent_online(client, database, clock):
    agent_id = _active_online_agent(client, database, clock)
    for _ in range(3):
        clock.advance(minutes=6)
        assert client.get("/tickets").status_code == 200
        _run_periodic(database)
    assert _agent(database, agent_id).status is AgentStatus.ONLINE


def test_busy_and_never_active_agents_are_left_alone(client, database, clock):
    busy = _active_online_agent(client, database, clock)
    _set_status(database, busy, AgentStatus.BUSY)
    never_signed_in = make_agent(database).agent_id  # presence kept by the API, not the workspace
    _set_status(database, never_signed_in, AgentStatus.ONLINE)

    clock.advance(hours=1)
    with database.transaction() as session:
        assert agents.auto_away(session) == []
    assert _agent(database, busy).status is AgentStatus.BUSY
    assert _agent(database, never_signed_in).status is AgentStatus.ONLINE


def test_coming_back_online_gives_a_fresh_limit(client, database, clock):
    agent_id = _active_online_agent(client, database, clock)
    clock.advance(minutes=30)
    _set_status(database, agent_id, AgentStatus.AWAY)
    _set_status(database, agent_id, AgentStatus.ONLINE)  # e.g. over the API, no page request
    clock.advance(minutes=5)
    with database.transaction() as session:
        assert agents.auto_away(session) == []
    clock.advance(minutes=6)
    with database.transaction() as session:
        assert agents.auto_away(session) == [agent_id]


def test_auto_away_limit_is_a_setting(client, database, clock, monkeypatch):
    from relaydesk.settings import reset_settings_cache

    agent_id = _active_online_agent(client, database, clock)
    monkeypatch.setenv("RELAYDESK_AUTO_AWAY_MINUTES", "2")
    reset_settings_cache()
    clock.advance(minutes=3)
    with database.transaction() as session:
        assert agents.auto_away(session) == [agent_id]

    _set_status(database, agent_id, AgentStatus.ONLINE)
    monkeypatch.setenv("RELAYDESK_AUTO_AWAY_MINUTES", "0")  # 0: never
    reset_settings_cache()
    clock.advance(hours=5)
    with database.transaction() as session:
        assert agents.auto_away(session) == []


# -- working hours -------------------------------------------------------------------------------------


def _scheduled(database, timezone: str, hours: dict[str, list[str]]):
    with database.transaction() as session:
        agent = agents.create_agent(
            session,
            AgentCreate(email=f"{timezone.replace('/', '.').lower()}@example.com", name="Shift",
                        timezone=timezone, working_hours=hours),
        )  # fmt: skip
        session.expunge(agent)
        return agent


def _at_utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_no_schedule_means_always_inside(database):
    agent = _scheduled(database, "UTC", {})
    assert agents.available_now(agent, _at_utc(2026, 12, 6, 3, 0))


def test_hours_follow_the_wall_clock_across_daylight_saving(database):
    # Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026; 09:00 local is 08:00 UTC before, 07:00 after.
    berlin = _scheduled(database, "Europe/Berlin", {d: ["09:00-17:00"] for d in ("fri", "mon")})
    assert not agents.available_now(berlin, _at_utc(2026, 3, 27, 7, 59))  # Friday 08:59 CET
    assert agents.available_now(berlin, _at_utc(2026, 3, 27, 8, 0))  # Friday 09:00 CET
    assert not agents.available_now(berlin, _at_utc(2026, 3, 30, 6, 59))  # Monday 08:59 CEST
    assert agents.available_now(berlin, _at_utc(2026, 3, 30, 7, 0))  # Monday 09:00 CEST
    assert agents.available_now(berlin, _at_utc(2026, 3, 30, 14, 59))  # 16:59 CEST
    assert not agents.available_now(berlin, _at_utc(2026, 3, 30, 15, 0))  # 17:00: the end is outside
    # New York falls back on Sunday 1 November 2026: Monday's 09:00 is 14:00 UTC, a Friday's was 13:00.
    new_york = _scheduled(database, "America/New_York", {"fri": ["09:00-17:00"], "mon": ["09:00-17:00"]})
    assert agents.available_now(new_york, _at_utc(2026, 10, 30, 13, 0))
    assert not agents.available_now(new_york, _at_utc(2026, 11, 2, 13, 30))
    assert agents.available_now(new_york, _at_utc(2026, 11, 2, 14, 0))


def test_day_is_the_agents_local_day_across_midnight(database):
    # Tokyo is UTC+9: Sunday 23:30 UTC is already Monday 08:30 there.
    tokyo = _scheduled(database, "Asia/Tokyo", {"mon": ["08:00-12:00"]})
    assert agents.available_now(tokyo, _at_utc(2026, 12, 6, 23, 30))
    assert not agents.available_now(tokyo, _at_utc(2026, 12, 7, 23, 30))  # Tuesday 08:30 in Tokyo


def test_night_shift_spans_midnight_as_two_spans(database):
    night = _scheduled(database, "UTC", {"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]})
    assert agents.available_now(night, _at_utc(2026, 12, 7, 23, 59))  # Monday 23:59
    assert agents.available_now(night, _at_utc(2026, 12, 8, 0, 0))  # Tuesday 00:00
    assert not agents.available_now(night, _at_utc(2026, 12, 8, 6, 0))
    assert not agents.available_now(night, _at_utc(2026, 12, 9, 0, 30))  # Wednesday: a day off


def test_available_now_reads_the_clock_by_default(database, clock):
    # The clock fixture stands at Monday 7 December 2026, 09:00 UTC.
    agent = _scheduled(database, "UTC", {"mon": ["09:00-10:00"]})
    assert agents.available_now(agent)
    clock.advance(hours=1)
    assert not agents.available_now(agent)


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ({"monday": ["09:00-17:00"]}, "is not a day"),
        ({"mon": ["9-17"]}, "is not a span"),
        ({"mon": ["17:00-09:00"]}, "ends before it starts"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(database, hours, problem):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=problem):
        AgentUpdate(working_hours=hours)


def test_team_parent_may_not_loop(database):
    from relaydesk.agents.schemas import TeamCreate, TeamUpdate
    from relaydesk.kit.errors import ValidationFailedError

    with database.transaction() as session:
        first = agents.create_team(session, TeamCreate(name="First line"))
        second = agents.create_team(session, TeamCreate(name="Second line", parent_id=first.id))
        with pytest.raises(ValidationFailedError, match="loop"):
            agents.update_team(session, first.id, TeamUpdate(parent_id=second.id))
        with pytest.raises(ValidationFailedError, match="loop"):
            agents.update_team(session, first.id, TeamUpdate(parent_id=first.id))
