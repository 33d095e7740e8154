"""A ticket's SLA state over the API and on the agent's ticket page."""

from __future__ import annotations

from tests.factories import make_agent, make_team, make_ticket, run_jobs
from tests.workspace.conftest import signed_in_agent


def test_the_api_lists_each_target_with_its_countdown(client, database, sla_policies, clock):
    login = make_agent(database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=15)
    response = client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=login.headers)
    assert response.status_code == 200
    first = next(c for c in response.json() if c["target"] == "first_response")
    assert first["state"] == "running" and first["remaining_seconds"] == 45 * 60
    assert first["policy_name"] == "default" and len(first["policy_version"]) == 12


def test_another_teams_restricted_ticket_answers_404(client, database, sla_policies, clock):
    login = make_agent(database)
    hidden = make_ticket(database, team_id=make_team(database, "Legal", restricted=True))
    assert client.get(f"/api/v1/tickets/{hidden}/sla", headers=login.headers).status_code == 404


def test_the_ticket_page_shows_the_sla_panel(client, database, sla_policies, clock):
    agent = signed_in_agent(client, database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=50)
    html = agent.get(f"/tickets/{ticket_id}").text
    assert 'data-testid="sla-panel"' in html
    assert 'data-testid="sla-first_response" data-state="running"' in html
    assert "0h 10m business time left" in html


def test_the_cli_ticks_by_hand_and_prints_a_tickets_clocks(database, sla_policies, clock):
    import json

    from typer.testing import CliRunner

    from relaydesk.cli import app

    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(hours=2)
    runner = CliRunner()
    ticked = runner.invoke(app, ["sla", "tick"])
    assert ticked.exit_code == 0, ticked.output
    # First response: at risk and breached; periodic update (2h): at risk and breached.
    assert json.loads(ticked.output) == {"at_risk": 2, "breached": 2}
    shown = runner.invoke(app, ["sla", "clocks", str(ticket_id)])
    states = {json.loads(line)["target"]: json.loads(line)["state"] for line in shown.output.splitlines()}
    assert states == {"first_response": "breached", "periodic_update": "breached", "resolution": "running"}


def test_the_inbox_shows_each_tickets_sla_countdown(client, database, sla_policies, clock):
    agent = signed_in_agent(client, database)
    overdue = make_ticket(database, email="a@example.com")
    clock.advance(minutes=50)
    make_ticket(database, email="b@example.com")
    run_jobs(database)
    clock.advance(minutes=20)
    html = agent.get("/tickets").text
    assert "<th>SLA due</th>" in html
    # The first ticket's first response was due at 10:00 (now 10:10); the second's at 10:50.
    assert '<span class="pill urgent">10m overdue</span>' in html
    assert '<span class="muted">in 40m</span>' in html
    assert f'data-ticket-id="{overdue}"' in html


def test_the_timeline_says_what_each_sla_event_means(client, database, sla_policies, clock):
    agent = signed_in_agent(client, database)
    ticket_id = make_ticket(database)
    run_jobs(database)
    clock.advance(minutes=61)
    with database.transaction() as session:
        from relaydesk.sla import service as sla

        sla.tick(session)
    html = agent.get(f"/tickets/{ticket_id}").text
    assert "SLA first response at risk (SLA default)" in html
    assert "SLA first response breached (SLA default)" in html
