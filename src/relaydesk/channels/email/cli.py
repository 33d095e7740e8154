"""The ``relaydesk email`` commands (registered in relaydesk.cli).

The intake, SMTP server (aiosmtpd) and IMAP modules are imported inside the commands that use them,
so ``relaydesk`` starts without loading them for every other command.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Annotated

import typer

from relaydesk.db import get_database
from relaydesk.settings import get_settings

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="email")

# sysexits.h EX_TEMPFAIL: an MTA piping mail here (Postfix, Exim) keeps it queued and tries again.
EXIT_TEMPFAIL = 75


@cli.command("ingest")
def ingest_command(
    files: Annotated[list[str], typer.Argument(help="Raw RFC 5322 files; '-' reads one message from stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the totals as JSON.")] = False,
) -> None:
    """Store raw messages (as piped by an MTA): each becomes a ticket message, a note or a quarantined input.

    Exits 75 (temporary failure) when any message could not be stored, so the MTA retries it.
    """
    from relaydesk.channels.email.inbound import SOURCE_CLI, receive_email_committed

    totals = {"accepted": 0, "quarantined": 0, "failed": 0}
    for name in files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()  # noqa: SIM115
        except OSError as exc:
            totals["failed"] += 1
            typer.echo(f"{name}: cannot read: {exc.strerror or exc}", err=True)
            continue
        try:
            outcome = receive_email_committed(raw, source=SOURCE_CLI)
        except Exception as exc:  # the database is down: report, and let the MTA retry
            totals["failed"] += 1
            typer.echo(f"{name}: not stored: {type(exc).__name__}: {exc}", err=True)
            continue
        totals[outcome.counts_as] += 1
        if not as_json:
            where = (
                f"quarantined as {outcome.quarantine_id} ({outcome.reason_code})"
                if outcome.quarantine_id is not None and outcome.counts_as == "quarantined"
                else f"{outcome.outcome.value} on ticket {outcome.ticket_id}"
            )
            typer.echo(f"{name}: {where}{' (already stored)' if outcome.duplicate else ''}")
    typer.echo(json.dumps(totals) if as_json else f"total: {json.dumps(totals)}")
    if totals["failed"]:
        raise typer.Exit(EXIT_TEMPFAIL)


@cli.command("smtp-server")
def smtp_server_command(
    host: Annotated[
        str | None, typer.Option(help="Listen address (RELAYDESK_EMAIL_SMTP_SERVER_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (RELAYDESK_EMAIL_SMTP_SERVER_PORT).")] = None,
) -> None:
    """Run the built-in SMTP server for the support addresses until stopped (Ctrl-C or SIGTERM)."""
    import logging

    from relaydesk.channels.email.smtp_server import start_smtp_server

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        controller = start_smtp_server(host, port)
    except (ValueError, OSError) as exc:
        typer.secho(f"Cannot start the SMTP server: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"SMTP server listening on {controller.hostname}:{controller.port}")
    while not stop.wait(1.0):
        pass
    controller.stop()


@cli.command("imap-poll")
def imap_poll_command() -> None:
    """One pass over every mailbox in RELAYDESK_EMAIL_IMAP_MAILBOXES; prints what each pass took."""
    from relaydesk.channels.email.imap import poll_mailboxes

    if not get_settings().email_imap_mailboxes:
        typer.secho("No mailboxes: set RELAYDESK_EMAIL_IMAP_MAILBOXES.", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    passes = poll_mailboxes(get_database().transaction)
    typer.echo(json.dumps([mailbox_pass.summary() for mailbox_pass in passes]))
    if any(mailbox_pass.error for mailbox_pass in passes):
        raise typer.Exit(1)
