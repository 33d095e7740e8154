"""The ``relaydesk deflection`` commands (registered in relaydesk.cli).

The reports (numpy, scikit-learn, knowledge search) are imported inside the commands that use them, so
``relaydesk`` starts without loading them for every other command.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from relaydesk.db import get_database
from relaydesk.tickets.enums import Channel

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="deflection")

Since = Annotated[str | None, typer.Option(help="ISO time with zone, e.g. 2026-11-01T00:00:00Z")]


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO time such as 2026-11-01T00:00:00Z", param_hint=name
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("needs a time zone, e.g. 2026-11-01T00:00:00Z", param_hint=name)
    return parsed


@cli.command("report")
def report(
    since: Since = None,
    until: Since = None,
    channel: Annotated[str | None, typer.Option(help="web_chat, in_app, web_form, email, ...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Sessions, confirmed and no-ticket deflections, escalations, with the holdout side by side."""
    from relaydesk.deflection.reports import deflection_report

    try:
        channel_value = Channel(channel) if channel else None
    except ValueError:
        raise typer.BadParameter(f"unknown channel {channel!r}", param_hint="--channel") from None
    with get_database().transaction(read_only=True) as session:
        result = deflection_report(
            session, since=_when(since, "--since"), until=_when(until, "--until"), channel=channel_value
        )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"window {result.window_days} days, holdout share {result.holdout_share:.0%}")
    typer.echo(
        f"{'':10} {'sessions':>9} {'solved':>7} {'no ticket':>10} {'escalated':>10} "
        f"{'pending':>8} {'rate':>7} {'provisional':>12}"
    )
    for name in ("all", "treated", "holdout", "help_center"):
        c = getattr(result, name)
        rate = "-" if c.deflection_rate is None else f"{c.deflection_rate:.1%}"
        provisional = "-" if c.provisional_deflection_rate is None else f"{c.provisional_deflection_rate:.1%}"
        typer.echo(
            f"{name:11} {c.sessions:>8} {c.deflected_confirmed:>7} {c.deflected_no_ticket:>10} "
            f"{c.escalated:>10} {c.pending:>8} {rate:>7} {provisional:>12}"
        )
    if result.all.pending:
        typer.echo(
            f"{result.all.pending} pending: rate = deflected / settled; provisional = "
            "(deflected + pending) / sessions, if no ticket follows the pending ones"
        )


@cli.command("gaps")
def gaps(
    since: Since = None,
    until: Since = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Questions search could not answer (or answered unhelpfully), clustered by meaning."""
    from relaydesk.deflection.reports import gap_report

    with get_database().transaction(read_only=True) as session:
        result = gap_report(
            session, since=_when(since, "--since"), until=_when(until, "--until"), max_clusters=limit
        )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"{result.queries} unanswered queries")
    for cluster in result.clusters:
        typer.echo(f"{cluster.count:>5}  {' | '.join(cluster.sample_queries)}")


@cli.command("settle")
def settle() -> None:
    """Settle sessions whose window has passed now (the worker does this every 15 minutes)."""
    from relaydesk.deflection.service import settle_expired

    with get_database().transaction() as session:
        deflected, escalated = settle_expired(session)
    typer.echo(json.dumps({"deflected_no_ticket": deflected, "escalated": escalated}))
