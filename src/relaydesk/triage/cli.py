"""The ``relaydesk triage`` commands (registered in relaydesk.cli).

The database and the training code (SQLAlchemy, numpy, the classifiers) are imported inside the commands
that use them, so ``relaydesk --help`` and ``triage import --out`` start fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from relaydesk.kit.cli import fail as _fail
from relaydesk.kit.errors import RelaydeskError
from relaydesk.triage.datasets import read_csv, read_dataset, write_csv

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="triage")


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    ZENDESK = "zendesk"


class Head(StrEnum):
    CATEGORY = "category"
    PRIORITY = "priority"
    TEAM = "team"


@cli.command("import")
def import_history(
    file: Annotated[Path, typer.Argument(help="The file to read.")],
    file_format: Annotated[FileFormat, typer.Option("--format", help="csv, jsonl or zendesk.")],
    head: Annotated[Head, typer.Option(help="Which head the labels are for.")],
    text_column: Annotated[
        str | None, typer.Option(help="Column (csv) or field (jsonl, dotted) holding the text.")
    ] = None,
    label_column: Annotated[
        str | None,
        typer.Option(
            help="Column/field of the label; for zendesk: group, priority, type, a field, tag:<prefix>."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write a text,label CSV here instead of storing in the database.")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good rows and list the bad ones.")
    ] = False,
) -> None:
    """Import labelled history (CSV, JSON lines, or a Zendesk-style export) as training data for a head."""
    try:
        result = read_dataset(
            file, file_format=file_format.value, text_column=text_column, label_column=label_column
        )
        if not skip_invalid:
            result.raise_if_problems()
    except RelaydeskError as exc:
        raise _fail(exc.message) from None
    for problem in result.problems:
        typer.secho(f"skipped {problem}", err=True, fg=typer.colors.YELLOW)
    summary: dict[str, object] = {
        "file": str(file),
        "head": head.value,
        "rows": result.rows,
        "examples": len(result.examples),
        "skipped": len(result.problems),
    }
    if out is not None:
        write_csv(out, result.examples)
        summary["written_to"] = str(out)
    else:
        # Start-up speed (see the module docstring).
        from relaydesk.db import get_database
        from relaydesk.triage.training import store_examples

        with get_database().transaction() as session:
            stored = store_examples(session, head.value, result.examples)
        summary.update(stored=stored.added, duplicates=stored.duplicates)
    typer.echo(json.dumps(summary))


@cli.command("train")
def train(
    head: Annotated[Head, typer.Option(help="The head to train.")],
    from_tickets: Annotated[
        bool, typer.Option("--from-tickets", help="Only Relaydesk's resolved tickets and agent corrections.")
    ] = False,
    data: Annotated[Path | None, typer.Option(help="Only this text,label CSV (from import --out).")] = None,
    activate: Annotated[bool, typer.Option("--activate", help="Serve the new version at once.")] = False,
) -> None:
    """Train a new model version for HEAD (default data: imported history, resolved tickets, corrections)."""
    # Start-up speed (see the module docstring).
    from relaydesk.db import get_database
    from relaydesk.triage.training import TrainingSet, train_head, training_set

    if from_tickets and data is not None:
        raise _fail("Choose one of --from-tickets and --data (or neither, for all stored training data).")
    database = get_database()
    try:
        if data is not None:
            read = read_csv(data, text_column="text", label_column="label")
            read.raise_if_problems()
            dataset = TrainingSet(head.value)
            for example in read.examples:
                dataset.add(example.text, example.label, "file")
            source = f"file:{data.name}"
        else:
            with database.transaction(read_only=True) as session:
                dataset = training_set(session, head.value, imports=not from_tickets)
            source = "tickets" if from_tickets else "triage:all"
        if not dataset.texts:
            raise _fail(
                f"No training data for {head.value!r}: import history first, or resolve some tickets."
            )
        typer.echo(json.dumps({"data": dataset.summary()}))
        with database.transaction() as session:
            version = train_head(session, dataset, source=source, activate=activate)
            report = {"version": version.name, "state": str(version.state), "metrics": version.metrics}
    except RelaydeskError as exc:
        raise _fail(exc.message) from None
    typer.echo(json.dumps(report, default=str))


@cli.command("summary")
def summary(head: Annotated[Head, typer.Option(help="The head.")]) -> None:
    """How much training data a head has, by source (imports, resolved tickets, agent corrections)."""
    # Start-up speed (see the module docstring).
    from relaydesk.db import get_database
    from relaydesk.triage.training import training_set

    with get_database().transaction(read_only=True) as session:
        typer.echo(json.dumps(training_set(session, head.value).summary()))
