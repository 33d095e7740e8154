"""The ``relaydesk sla`` commands (registered in relaydesk.cli): a ticket's clocks, a tick by hand."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from relaydesk.db import get_database
from relaydesk.sla import service

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="sla")


@cli.command("clocks")
def clocks(ticket_id: Annotated[int, typer.Argument(help="The ticket's id.")]) -> None:
    """Print the ticket's SLA clocks as JSON lines (state, due time, business time counted and left)."""
    with get_database().transaction(read_only=True) as session:
        for clock in service.ticket_clocks(session, ticket_id):
            typer.echo(clock.model_dump_json())


@cli.command("tick")
def tick(
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Clocks a batch.")] = service.TICK_BATCH,
) -> None:
    """Turn every due clock at risk or breached now (what the periodic sla.tick job does)."""
    at_risk = breached = 0
    while True:
        with get_database().transaction() as session:
            result = service.tick(session, batch=batch)
        at_risk, breached = at_risk + result.at_risk, breached + result.breached
        if result.processed < batch:
            break
    typer.echo(json.dumps({"at_risk": at_risk, "breached": breached}))
