"""The ``relaydesk escalation`` commands (registered in relaydesk.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relaydesk.escalation.policy import EscalationPathsPolicy
from relaydesk.kit.cli import fail as _fail
from relaydesk.policies import PolicyError, get_policy

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="escalation")


@cli.command("paths")
def show_paths(
    directory: Annotated[
        Path | None, typer.Argument(help="The policy folder (default: RELAYDESK_POLICY_DIR).")
    ] = None,
) -> None:
    """Print each escalation path: its levels, who serves them and their pickup targets."""
    try:
        policy = get_policy("escalation_paths", EscalationPathsPolicy, directory)
    except PolicyError as exc:
        raise _fail(str(exc), code=2) from None
    if policy is None:
        raise _fail("No escalation_paths policy in the folder.", code=1)
    for path in policy.paths:
        teams = ", ".join(path.teams) or "-"
        typer.echo(f"{path.name}{' (default)' if path.default else ''}: teams {teams}")
        for rule in path.levels:
            role = f", role {rule.role.value}+" if rule.role else ""
            typer.echo(
                f"  {rule.level.value:<10} {rule.team or '(own team)'}: tier {rule.min_tier}+{role}, "
                f"pickup {rule.pickup_minutes} min"
            )
    typer.echo("reasons: " + ", ".join(r.code for r in policy.reasons))
