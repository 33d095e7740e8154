"""What every command line of Relaydesk shares."""

from __future__ import annotations

import typer

__all__ = ["fail"]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say what to fix on stderr and return the exit to raise (2: the user's input was wrong)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)
