"""The ``relaydesk`` command line.

Each domain owns its command group in ``<domain>/cli.py``; this file mounts them. What only one command
needs and is slow to load (the web app, the demo seeder, the SMTP server) is imported inside that
command, so every other command starts without it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import select, text

# Imported for what importing does: every table mapped before any command touches the database, and
# the triage policy kinds registered for `relaydesk policy check`.
import relaydesk.models
import relaydesk.triage.policy  # noqa: F401
from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate, AgentOut, TeamCreate, TeamOut
from relaydesk.auth.models import ApiToken
from relaydesk.auth.roles import Role
from relaydesk.auth.tokens import ALL_SCOPES, create_token, revoke_token
from relaydesk.channels.email.cli import cli as email_cli
from relaydesk.classification.cli import cli as model_cli
from relaydesk.db import get_database
from relaydesk.db.migrate import current_heads, upgrade
from relaydesk.deflection.cli import cli as deflection_cli
from relaydesk.escalation.cli import cli as escalation_cli
from relaydesk.jobs import discover_tasks
from relaydesk.jobs.models import Job, JobLane, JobState
from relaydesk.jobs.worker import Worker, parse_lanes
from relaydesk.kit.cli import fail as _fail
from relaydesk.kit.errors import RelaydeskError
from relaydesk.kit.time import utcnow
from relaydesk.knowledge.cli import cli as kb_cli
from relaydesk.ml.embeddings import use_encoder_cache
from relaydesk.policies import PolicyError, load_policy_dir, render_policy_docs
from relaydesk.settings import Environment, SettingsError, get_settings, reset_settings_cache
from relaydesk.sla.cli import cli as sla_cli
from relaydesk.triage.cli import cli as triage_cli

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Relaydesk customer-support platform.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
user_app = typer.Typer(no_args_is_help=True, help="Agents who sign in.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens.")
team_app = typer.Typer(no_args_is_help=True, help="Teams.")
jobs_app = typer.Typer(no_args_is_help=True, help="Durable jobs: inspect and retry.")
policy_app = typer.Typer(no_args_is_help=True, help="Policy files (YAML) under RELAYDESK_POLICY_DIR.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(team_app, name="team")
app.add_typer(jobs_app, name="jobs")
app.add_typer(policy_app, name="policy")
app.add_typer(kb_cli, name="kb", help="Knowledge base: import, export, search, evaluate.")
app.add_typer(deflection_cli, name="deflection", help="Deflection outcomes and gap reports.")
app.add_typer(model_cli, name="model", help="Classifiers: train, evaluate, predict, promote.")
app.add_typer(triage_cli, name="triage", help="Triage: training data and the live pipeline.")
app.add_typer(sla_cli, name="sla", help="SLA clocks: a ticket's clocks, a tick by hand.")
app.add_typer(email_cli, name="email", help="Email intake: ingest raw mail, SMTP server, IMAP poll.")
app.add_typer(escalation_cli, name="escalation", help="Escalation paths: the ladder per team.")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Create or migrate the schema to REVISION (default: the newest)."""
    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at {revision}: {url.split('@')[-1]}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the newest one."""
    with get_database().engine.connect() as conn:
        try:
            query = text("SELECT version_num FROM alembic_version")
            current: list[str] = sorted(conn.execute(query).scalars())
        except Exception:
            current = []
    typer.echo(json.dumps({"current": current, "heads": list(current_heads())}))


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    worker: Annotated[bool, typer.Option(help="Run a job worker inside the server process.")] = True,
    migrate: Annotated[bool, typer.Option(help="Upgrade the schema before starting.")] = True,
    warm: Annotated[
        bool, typer.Option(help="Build the search index and load the query encoder as the server starts.")
    ] = True,
) -> None:
    """Run the web server (API, agent pages) with an in-process job worker."""
    # Only the server needs uvicorn, FastAPI and every domain's routes.
    import uvicorn

    from relaydesk.app import create_app

    _logging()
    if migrate:
        upgrade(get_settings().resolved_database_url)
    smtp_server = None
    if get_settings().email_smtp_server_enabled:
        from relaydesk.channels.email.smtp_server import start_smtp_server  # aiosmtpd only when enabled

        smtp_server = start_smtp_server()
    try:
        settings = get_settings()
        uvicorn.run(
            create_app(run_worker=worker, warm_search=warm),
            host=host,
            port=port,
            log_level="info",
            # Forwarded-for headers only from the configured proxies (uvicorn believes loopback).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies,
            # One WebSocket message is buffered whole before the app sees it: bound it as a body.
            ws_max_size=settings.max_request_bytes,
        )
    finally:
        if smtp_server is not None:
            smtp_server.stop()


def _worker_process(index: int, imports: list[str], burst: bool, lanes: tuple[JobLane, ...]) -> None:
    _logging()
    discover_tasks(extra_modules=tuple(imports))
    worker = Worker(get_database(), lanes=lanes)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    if burst:
        while worker.run_once():
            pass
    else:
        worker.run_forever()


@app.command("worker")
def worker_command(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Worker processes to run.")] = 1,
    import_module: Annotated[
        list[str] | None, typer.Option("--import", help="Extra module(s) that register job handlers.")
    ] = None,
    burst: Annotated[bool, typer.Option(help="Exit when no job is due instead of waiting.")] = False,
    lanes: Annotated[
        str,
        typer.Option(
            help="Comma-separated lanes these workers lease from (live, default, bulk), the most urgent "
            "first whatever the order; e.g. --lanes live for workers kept free for chat and routing."
        ),
    ] = "live,default,bulk",
) -> None:
    """Run standalone job workers (for scale-out beside N API processes)."""
    try:
        served = parse_lanes(lanes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lanes") from None
    imports = import_module or []
    if concurrency == 1:
        _worker_process(0, imports, burst, served)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker_process, args=(i, imports, burst, served)) for i in range(concurrency)
    ]
    for process in processes:
        process.start()

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.pid:
                os.kill(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="agent, lead, manager or admin.")] = "agent",
    password: Annotated[
        str | None, typer.Option(help="At least 10 characters; read from RELAYDESK_PASSWORD if not given.")
    ] = None,
    team: Annotated[list[str] | None, typer.Option(help="Team name(s) to join.")] = None,
    tier_level: int = 1,
    language: Annotated[list[str] | None, typer.Option(help="Language code(s) the agent works in.")] = None,
) -> None:
    """Create an agent who can sign in; prints what was made."""
    password = password or os.environ.get("RELAYDESK_PASSWORD")
    if not password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with get_database().transaction() as session:
            team_ids = []
            for team_name in team or []:
                found = agents.team_by_name(session, team_name)
                if found is None:
                    raise _fail(f"No team named {team_name!r}; create it with: relaydesk team create NAME")
                team_ids.append(found.id)
            agent = agents.create_agent(
                session,
                AgentCreate(
                    email=email,
                    name=name,
                    role=role,  # type: ignore[arg-type]
                    password=password,
                    team_ids=team_ids,
                    tier_level=tier_level,
                    languages=language or ["en"],
                ),
            )
            out = AgentOut.model_validate(agent).model_dump(mode="json")
    except ValidationError as exc:
        raise _fail(
            "Invalid agent: " + "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        ) from None
    except RelaydeskError as exc:
        raise _fail(exc.message) from None
    typer.echo(json.dumps(out, indent=2))


@user_app.command("unlock")
def user_unlock(email: Annotated[str, typer.Argument(help="The agent's sign-in email.")]) -> None:
    """Lift the sign-in lock that repeated wrong passwords put on an agent's account."""
    with get_database().transaction() as session:
        agent = agents.agent_by_email(session, email.strip())
        if agent is None:
            raise _fail(f"No agent with the email {email!r}; list them with GET /api/v1/agents.")
        was_locked = agents.unlock_agent(session, agent.id)
        out = {"agent_id": agent.id, "email": agent.email, "was_locked": was_locked}
    typer.echo(json.dumps(out))


@team_app.command("create")
def team_create(
    name: str,
    restricted: Annotated[bool, typer.Option(help="Only members and managers see its tickets.")] = False,
    description: str = "",
) -> None:
    """Create a team; prints what was made."""
    try:
        with get_database().transaction() as session:
            team = agents.create_team(
                session, TeamCreate(name=name, restricted=restricted, description=description)
            )
            out = TeamOut.model_validate(team).model_dump(mode="json")
    except RelaydeskError as exc:
        raise _fail(exc.message) from None
    typer.echo(json.dumps(out, indent=2))


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="agent, lead, manager or admin.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    scope: Annotated[list[str] | None, typer.Option(help="read and/or write (default both).")] = None,
    agent_email: Annotated[
        str | None, typer.Option(help="Act for this agent (inherits their teams).")
    ] = None,
    team: Annotated[list[str] | None, typer.Option(help="Restricted team(s) this token may see.")] = None,
) -> None:
    """Create an API token; the secret is printed once and stored only as a hash."""
    try:
        token_role = Role(role)
    except ValueError:
        raise _fail(f"Unknown role {role!r}; choose one of: {', '.join(r.value for r in Role)}") from None
    scopes = frozenset(scope or ALL_SCOPES)
    if not scopes <= ALL_SCOPES:
        raise _fail(f"Unknown scope(s) {sorted(scopes - ALL_SCOPES)}; use read and/or write.")
    with get_database().transaction() as session:
        agent_id = None
        if agent_email:
            agent = agents.agent_by_email(session, agent_email)
            if agent is None:
                raise _fail(f"No agent with email {agent_email}.")
            agent_id = agent.id
        team_ids = []
        for team_name in team or []:
            found = agents.team_by_name(session, team_name)
            if found is None:
                raise _fail(f"No team named {team_name!r}.")
            team_ids.append(found.id)
        created = create_token(
            session, name=name, role=token_role, scopes=scopes, agent_id=agent_id, team_ids=team_ids
        )
        out = {
            "id": created.token.id,
            "name": name,
            "role": token_role.value,
            "scopes": sorted(scopes),
            "agent_id": agent_id,
            "team_ids": team_ids,
            "token": created.plaintext,
        }
    typer.echo(json.dumps(out, indent=2))


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke an API token at once."""
    try:
        with get_database().transaction() as session:
            token = revoke_token(session, token_id)
            typer.echo(
                json.dumps(
                    {"id": token.id, "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}
                )
            )
    except RelaydeskError as exc:
        raise _fail(exc.message) from None


@token_app.command("list")
def token_list() -> None:
    """List API tokens (never their secrets)."""
    with get_database().transaction() as session:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": f"rd_{t.prefix}_…",
                "role": t.role.value if hasattr(t.role, "value") else t.role,
                "scopes": t.scopes,
                "revoked": t.revoked_at is not None,
            }
            for t in session.scalars(select(ApiToken).order_by(ApiToken.id))
        ]
    typer.echo(json.dumps(rows, indent=2))


@jobs_app.command("list")
def jobs_list(state: str = "dead", limit: int = 50) -> None:
    """List jobs in a state (default: dead letters), newest first, with their last error."""
    try:
        job_state = JobState(state)
    except ValueError:
        raise _fail(
            f"Unknown state {state!r}; choose one of: {', '.join(s.value for s in JobState)}"
        ) from None
    with get_database().transaction() as session:
        jobs = session.scalars(select(Job).where(Job.state == job_state).order_by(Job.id.desc()).limit(limit))
        rows = [
            {
                "id": j.id,
                "name": j.name,
                "lane": j.lane.value,
                "args": j.args,
                "attempts": j.attempts,
                "expired_leases": j.expired_leases,
                "last_error": (j.last_error or "").strip().splitlines()[-1:] or None,
            }
            for j in jobs
        ]
    typer.echo(json.dumps(rows, indent=2))


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Send a dead job back to the queue with a fresh set of attempts."""
    with get_database().transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise _fail(f"No job with id {job_id}.")
        if job.state is not JobState.DEAD:
            raise _fail(f"Job {job_id} is {job.state}; only dead jobs can be retried.")
        job.state, job.attempts, job.run_at, job.finished_at = JobState.QUEUED, 0, utcnow(), None
        job.expired_leases = 0
    typer.echo(json.dumps({"id": job_id, "state": "queued"}))


@policy_app.command("check")
def policy_check(
    directory: Annotated[str | None, typer.Argument(help="Defaults to RELAYDESK_POLICY_DIR.")] = None,
) -> None:
    """Validate every policy file; exit 2 with the file and field when one is wrong."""
    discover_tasks()  # importing the domains registers their policy kinds

    folder = Path(directory) if directory else get_settings().policy_dir
    try:
        policies = load_policy_dir(folder, strict=True)
    except PolicyError as exc:
        raise _fail(exc.message) from None
    typer.echo(json.dumps({"directory": str(folder), "kinds": sorted(policies)}))


@policy_app.command("docs")
def policy_docs(
    directory: Annotated[str | None, typer.Argument(help="Defaults to RELAYDESK_POLICY_DIR.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Markdown here (else print it).")
    ] = None,
) -> None:
    """Render the policy folder as Markdown people review (SLA tables, calendars, diagrams)."""
    discover_tasks()  # importing the domains registers their policy kinds and renderers
    folder = Path(directory) if directory else get_settings().policy_dir
    try:
        page = render_policy_docs(folder)
    except PolicyError as exc:
        raise _fail(exc.message) from None
    if out is None:
        typer.echo(page, nl=False)
    else:
        out.write_text(page, encoding="utf-8")
        typer.echo(json.dumps({"directory": str(folder), "out": str(out)}))


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server afterwards.")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Create the schema and seed the demo brand (idempotent); optionally start the server."""
    # The seeder loads every domain's service: only this command needs it.
    from relaydesk.demo.overview import run_pending_jobs, take_offered_work, ticket_overview
    from relaydesk.demo.seed import seed_demo

    if get_settings().env is Environment.PRODUCTION:
        # The demo's agents share a published password and its page signs in a known customer.
        raise _fail("relaydesk demo is refused when RELAYDESK_ENV=production; use a development install.")
    upgrade(get_settings().resolved_database_url)
    database = get_database()
    with database.transaction() as session:
        summary = seed_demo(session)
    typer.echo(
        "Demo data " + ("was already there." if summary.already_seeded else f"created: {summary.counts}")
    )
    model = summary.triage_model
    if model is not None:
        accuracy = f", cross-validated accuracy {model.accuracy:.0%}" if model.accuracy is not None else ""
        typer.echo(
            f"Triage model {model.name} trained in {model.seconds:.1f} s from {model.examples} labelled "
            f"examples ({model.labels} categories{accuracy}) and activated."
        )
    # Triage (and routing, where it is installed) of what the seed filed, before the first page opens.
    ran = run_pending_jobs(database)
    if ran:
        typer.echo(f"Ran {ran} job(s): triage of the demo tickets and what follows it.")
    taken = take_offered_work(database)
    if taken:
        typer.echo(f"The demo agents took the {len(taken)} ticket(s) routing offered them.")
    with database.transaction(read_only=True) as session:
        lines = ticket_overview(session)
    typer.echo(f"\nTickets ({summary.online or 'all'} demo agents online):")
    for line in lines:
        if line.needs_triage:
            decided = "needs triage (the model was unsure)"
        elif line.category is not None:
            confidence = f" {line.confidence:.2f}" if line.confidence is not None else ""
            decided = f"{line.category}{confidence}"
        else:
            decided = "not triaged yet"
        where = f"queue {line.queue}" if line.queue else line.status
        who = f", {line.assignee}" if line.assignee else ""
        typer.echo(
            f"  #{line.id:<3} {line.subject[:38]:<38} {line.channel:<8} {line.priority:<7} {decided}; "
            f"{where}{who}"
        )
    typer.echo(
        f"\nRelaydesk demo: http://{host}:{port}/login\n\nSign in as (password for all: "
        f"{summary.logins[0][1]}):"
    )
    for email, _password, role in summary.logins:
        typer.echo(f"  {email:<32} {role}")
    base = f"http://{host}:{port}"
    typer.echo(
        f"\nAs a customer: the shop with its chat widget {base}/chat/demo, the help center {base}/help/en,"
        f"\nthe contact form {base}/help/en/contact."
        f"\nThen, as an agent: {base}/tickets lists what triage decided (priority, needs_triage);"
        f"\n{base}/api/v1/tickets/<id>/triage has the categories with their confidences. Write in the"
        f"\nchat widget, or file a ticket through the API: it is triaged the same way (README.md: The demo)."
    )
    if serve_after:
        os.environ["RELAYDESK_DEMO_ENABLED"] = "true"  # the demo shop pages (/chat/demo)
        reset_settings_cache()
        serve(host=host, port=port, worker=True, migrate=False)


def main() -> None:
    try:
        get_settings()
    except SettingsError as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        sys.exit(2)
    # A restart reads the exported query encoder back instead of exporting it again (ml/README.md).
    use_encoder_cache(get_settings().var_dir / "cache")
    app()


if __name__ == "__main__":
    main()
