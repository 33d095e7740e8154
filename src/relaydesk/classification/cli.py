"""The ``relaydesk model`` commands (registered in relaydesk.cli). Heavy imports stay inside commands."""

from __future__ import annotations

import typer

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="classification")
