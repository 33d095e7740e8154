"""The relaydesk command line, run as a real process against the test database."""

import json

import pytest
from sqlalchemy import select

from relaydesk.auth.tokens import find_active_token
from tests.factories import run_cli


def test_user_and_token_creation_print_what_was_made(database):
    run_cli("team", "create", "Legal", "--restricted")
    created = json.loads(
        run_cli(
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--role",
            "lead",
            "--team",
            "Legal",
            env={"RELAYDESK_PASSWORD": "a-long-password"},
        ).stdout
    )
    assert (
        created["role"] == "lead" and created["email"] == "ops@example.com" and len(created["team_ids"]) == 1
    )
    token = json.loads(
        run_cli("token", "create", "--role", "manager", "--name", "reports", "--scope", "read").stdout
    )
    assert token["token"].startswith("rd_") and token["scopes"] == ["read"]
    with database.transaction() as session:
        stored = find_active_token(session, token["token"])
        assert stored is not None and stored.token_hash != token["token"]
    listed = run_cli("token", "list").stdout
    assert token["token"] not in listed and "reports" in listed
    run_cli("token", "revoke", str(token["id"]))
    with database.transaction() as session:
        assert find_active_token(session, token["token"]) is None


def test_user_mistakes_get_a_message_and_exit_code_2(database):
    result = run_cli("token", "create", "--role", "wizard", check=False)
    assert result.returncode == 2 and "choose one of: agent, lead, manager, admin" in result.stderr
    result = run_cli(
        "user",
        "create",
        "--email",
        "x@example.com",
        "--name",
        "X",
        "--team",
        "Nope",
        env={"RELAYDESK_PASSWORD": "a-long-password"},
        check=False,
    )
    assert result.returncode == 2 and "No team named 'Nope'" in result.stderr
    result = run_cli(
        "user",
        "create",
        "--email",
        "x@example.com",
        "--name",
        "X",
        env={"RELAYDESK_PASSWORD": "short"},
        check=False,
    )
    assert result.returncode == 2 and "password" in result.stderr


def test_invalid_setting_stops_the_command_with_its_name(database):
    result = run_cli("db", "current", env={"RELAYDESK_JOB_LEASE_SECONDS": "-1"}, check=False)
    assert result.returncode == 2 and "RELAYDESK_JOB_LEASE_SECONDS" in result.stderr


@pytest.mark.slow  # trains the demo's triage model and triages its tickets in a fresh process
def test_demo_seeds_once_and_prints_the_logins(database):
    first = run_cli("demo").stdout
    assert "admin@northwind.example" in first and "created" in first
    assert "Triage model category-1 trained in" in first and "shipping_issue" in first
    assert "/tickets lists what triage decided" in first and "/triage has the categories" in first
    second = run_cli("demo").stdout
    assert "already there" in second and "Triage model" not in second
    from relaydesk.agents.models import Agent

    with database.transaction() as session:
        assert len(session.scalars(select(Agent)).all()) == 10


def test_demo_is_refused_in_production(database):
    result = run_cli("demo", env={"RELAYDESK_ENV": "production"}, check=False)
    assert result.returncode == 2 and "RELAYDESK_ENV=production" in result.stderr
    from relaydesk.agents.models import Agent

    with database.transaction() as session:
        assert session.scalars(select(Agent)).all() == []


def test_dead_job_can_be_listed_and_retried(database):
    from relaydesk.jobs import enqueue
    from relaydesk.jobs.models import Job, JobState

    with database.transaction() as session:
        job_id = enqueue(session, "nobody.handles_this", max_attempts=1)
        session.get(Job, job_id).state = JobState.DEAD
    listed = json.loads(run_cli("jobs", "list").stdout)
    assert [j["id"] for j in listed] == [job_id]
    run_cli("jobs", "retry", str(job_id))
    with database.transaction() as session:
        assert session.get(Job, job_id).state is JobState.QUEUED
    assert run_cli("jobs", "retry", str(job_id), check=False).returncode == 2


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["worker", "--help"]])
def test_help_works_without_a_database(args):
    assert run_cli(*args).returncode == 0
