"""The ``relaydesk model`` commands (registered in relaydesk.cli). Heavy imports stay inside commands.

``train``/``evaluate``/``predict`` work on model folders and need no database; ``register``, ``list``,
``promote``, ``rollback``, ``shadow``, ``retrain`` and ``schedule`` work on the registry.
Bad input (a missing file or column, too few examples per class) exits with code 2 and a message.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from relaydesk.kit.cli import fail as _fail
from relaydesk.kit.errors import RelaydeskError

__all__ = ["cli", "read_labelled_csv"]

cli = typer.Typer(no_args_is_help=True, help="classification")


class InputError(Exception):
    """The command's input is unusable; the message says what to fix (exit code 2)."""


def read_labelled_csv(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Read texts and labels from a CSV with a header row; InputError names what is wrong."""
    if not path.is_file():
        raise InputError(f"no such data file: {path}")
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in columns]
        if missing:
            raise InputError(
                f"{path}: column(s) {', '.join(repr(c) for c in missing)} not found; "
                f"the header has: {', '.join(columns) or '(empty file)'}"
            )
        texts, labels, blank_rows = [], [], []
        for line, row in enumerate(reader, start=2):
            text, label = (row.get(text_column) or "").strip(), (row.get(label_column) or "").strip()
            if not text or not label:
                blank_rows.append(line)
                continue
            texts.append(text)
            labels.append(label)
    if blank_rows:
        shown = ", ".join(str(n) for n in blank_rows[:10])
        raise InputError(
            f"{path}: {len(blank_rows)} row(s) have an empty text or label (line {shown}"
            f"{' …' if len(blank_rows) > 10 else ''}); fix or remove them"
        )
    if not texts:
        raise InputError(f"{path}: no data rows")
    return texts, labels


def _load_model(folder: Path) -> Any:
    from relaydesk.classification.classifier import load_classifier  # on use: keeps `relaydesk` start-up fast

    try:
        return load_classifier(folder)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@cli.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="CSV file with a header row.")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")],
    label_column: Annotated[str, typer.Option(help="Column holding the label.")],
    out: Annotated[Path, typer.Option(help="Folder to write the model to (created).")],
    abstain_label: Annotated[
        str | None, typer.Option(help="Out-of-scope label (e.g. oos): predicted below the threshold.")
    ] = None,
    embeddings: Annotated[bool, typer.Option(help="Use MiniLM sentence embeddings.")] = True,
    abstain_recall_target: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="With --abstain-label: lowest threshold whose cross-validated abstain recall reaches this.",
        ),
    ] = 0.75,
    target_precision: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Held-out precision the abstention threshold must reach.")
    ] = 0.9,
    fine_tune_layers: Annotated[
        int,
        typer.Option(
            min=0,
            max=6,
            help="Top MiniLM layers retrained on the labels as a second opinion (0: frozen encoder only).",
        ),
    ] = 4,
    fine_tune_epochs: Annotated[
        float,
        typer.Option(min=0.5, max=20, help="Most epochs of that fine-tuning (the budget may allow fewer)."),
    ] = 3.0,
    time_budget: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Minutes the training may take: the fine-tuning gets the epochs that fit what the rest "
            "leaves, measured on this CPU (0: no limit).",
        ),
    ] = 9.0,
) -> None:
    """Train a classifier from a CSV into a self-contained model folder (no database needed)."""
    # On use: numpy and the model code would slow every `relaydesk` command.
    from relaydesk.classification.classifier import TrainingDataError, TrainingOptions, train

    try:
        texts, labels = read_labelled_csv(data, text_column, label_column)
    except InputError as exc:
        raise _fail(str(exc)) from None
    if out.exists() and any(out.iterdir()):
        raise _fail(f"{out} exists and is not empty; choose a new folder")
    options = TrainingOptions(
        target_precision=target_precision,
        abstain_recall_target=abstain_recall_target,
        use_embeddings=embeddings,
        fine_tune_layers=fine_tune_layers if embeddings else 0,
        fine_tune_epochs=fine_tune_epochs,
        time_budget_seconds=time_budget * 60 or None,
    )
    out.mkdir(parents=True, exist_ok=True)
    try:
        model = train(
            texts,
            labels,
            abstain_label=abstain_label,
            options=options,
            log=lambda message: typer.echo(message, err=True),
        )
    except TrainingDataError as exc:
        out.rmdir() if not any(out.iterdir()) else None
        raise _fail(f"{data}: {exc}") from None
    model.meta["source"] = f"file:{data.name}"
    model.save(out)
    metrics = model.meta["metrics"]
    summary = {
        k: v for k, v in metrics.items() if k not in ("per_class", "confused_pairs", "threshold_curve")
    }
    typer.echo(json.dumps({"out": str(out), "training_seconds": model.meta["training_seconds"], **summary}))


@cli.command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Option(help="Model folder from 'relaydesk model train'.")],
    data: Annotated[Path, typer.Option(help="CSV file with a header row.")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")],
    label_column: Annotated[str, typer.Option(help="Column holding the true label.")],
    abstain_label: Annotated[
        str | None, typer.Option(help="Abstentions count as this label; adds in_scope_accuracy, oos_recall.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    latency_samples: Annotated[
        int, typer.Option(min=1, help="Single predictions timed for p50/p99 (the first N rows).")
    ] = 300,
) -> None:
    """Measure accuracy, macro-F1 (and in-scope accuracy / out-of-scope recall) and per-text latency."""
    # On use: numpy and the model code would slow every `relaydesk` command.
    import numpy as np

    from relaydesk.classification.classifier import evaluate

    try:
        texts, labels = read_labelled_csv(data, text_column, label_column)
    except InputError as exc:
        raise _fail(str(exc)) from None
    classifier = _load_model(model)
    outputs = classifier.predict(texts)
    predicted = [
        (abstain_label if abstain_label is not None and o.abstained else o.label) or "(abstained)"
        for o in outputs
    ]
    report = evaluate(labels, predicted, abstain_label=abstain_label)
    classifier.predict_one(texts[0])  # warm-up: first-call costs are not a prediction's latency
    timings = []
    for text in texts[:latency_samples]:
        started = time.perf_counter()
        classifier.predict_one(text)
        timings.append((time.perf_counter() - started) * 1000)
    result: dict[str, Any] = {
        "n": report["n"],
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
    }
    if abstain_label is not None:
        result["in_scope_accuracy"] = report["in_scope_accuracy"]
        result["oos_recall"] = report["oos_recall"]
    result["p50_ms"] = round(float(np.percentile(timings, 50)), 2)
    result["p99_ms"] = round(float(np.percentile(timings, 99)), 2)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        typer.echo(f"{key:>18}: {value}")
    for pair in report["confused_pairs"][:5]:
        typer.echo(f"  confused: {pair['true']} -> {pair['predicted']} ({pair['count']})")


@cli.command("predict")
def predict_command(
    text: Annotated[str, typer.Argument(help="The text to classify.")],
    model: Annotated[Path, typer.Option(help="Model folder from 'relaydesk model train'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Classify one text with a model folder."""
    if not text.strip():
        raise _fail("the text to classify is empty")
    output = _load_model(model).predict_one(text)
    result = {
        "label": output.label,
        "confidence": round(output.confidence, 6),
        "abstained": output.abstained,
        "top": [[label, p] for label, p in output.top],
    }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"{output.label or '(abstained)'}  {output.confidence:.3f}")


# -- registry ----------------------------------------------------------------------------------------


def _registry_call(action: Any) -> Any:
    """Run ``action(session)`` in one transaction; a RelaydeskError exits 2 with its message."""
    from relaydesk.db import get_database  # on use: SQLAlchemy would slow every `relaydesk` command

    try:
        with get_database().transaction() as session:
            return action(session)
    except RelaydeskError as exc:
        raise _fail(exc.message) from None


@cli.command("register")
def register_command(
    folder: Annotated[Path, typer.Argument(help="Model folder from 'relaydesk model train'.")],
    head: Annotated[str, typer.Option(help="The head it serves: category, priority, team, ...")],
    activate: Annotated[bool, typer.Option(help="Make it the active version at once.")] = False,
) -> None:
    """Add a model folder to the registry as a new version of HEAD (a candidate unless --activate)."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    if not folder.is_dir():
        raise _fail(f"no such model folder: {folder}")

    def run(session: Any) -> dict[str, Any]:
        row = service.register_version(session, head, folder)
        if activate:
            row = service.activate(session, head, row.version)
        return service.version_summary(row)

    typer.echo(json.dumps(_registry_call(run)))


@cli.command("list")
def list_command(
    head: Annotated[str | None, typer.Option(help="Only this head.")] = None,
) -> None:
    """List model versions per head with state, metrics and shadow agreement (JSON)."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    typer.echo(
        json.dumps(
            _registry_call(
                lambda session: [service.version_summary(r) for r in service.list_versions(session, head)]
            ),
            indent=2,
        )
    )


@cli.command("promote")
def promote_command(head: str, version: int) -> None:
    """Make VERSION the active model of HEAD (the previous one can be rolled back to)."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    typer.echo(
        json.dumps(
            _registry_call(lambda session: service.version_summary(service.activate(session, head, version)))
        )
    )


@cli.command("rollback")
def rollback_command(head: str) -> None:
    """Return HEAD to the version that was active before the current one."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    typer.echo(
        json.dumps(_registry_call(lambda session: service.version_summary(service.rollback(session, head))))
    )


@cli.command("shadow")
def shadow_command(
    head: str,
    version: Annotated[int | None, typer.Argument(help="Version to run in shadow.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop the shadow run.")] = False,
) -> None:
    """Run VERSION in shadow beside HEAD's active model (agreement is recorded), or stop with --off."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    if (version is None) == (not off):
        raise _fail("give either a VERSION or --off")

    def run(session: Any) -> dict[str, Any]:
        row = service.set_shadow(session, head, None if off else version)
        return {"head": head, "shadow": service.version_summary(row) if row else None}

    typer.echo(json.dumps(_registry_call(run)))


@cli.command("retrain")
def retrain_command(
    head: str,
    activate: Annotated[bool, typer.Option(help="Activate the new version at once.")] = False,
) -> None:
    """Retrain HEAD now from its registered training source (e.g. resolved tickets)."""
    from relaydesk.classification import tasks  # on use: keeps `relaydesk` start-up fast

    typer.echo(
        json.dumps(_registry_call(lambda session: tasks.retrain_head(session, head, activate=activate)))
    )


@cli.command("schedule")
def schedule_command(
    head: str,
    every_hours: Annotated[
        int | None, typer.Option(min=1, help="Retrain every N hours from the head's training source.")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop scheduled retraining.")] = False,
    activate: Annotated[
        bool, typer.Option(help="Activate each retrained version (else a candidate).")
    ] = False,
) -> None:
    """Set HEAD's retraining policy (run by the worker's periodic job)."""
    from relaydesk.classification import service  # on use: keeps `relaydesk` start-up fast

    if (every_hours is None) == (not off):
        raise _fail("give either --every-hours N or --off")

    def run(session: Any) -> dict[str, Any]:
        row = service.set_retraining(session, head, every_hours=every_hours, activate=activate)
        return {
            "head": row.head,
            "retrain_every_hours": row.retrain_every_hours,
            "activate": row.retrain_activate,
        }

    typer.echo(json.dumps(_registry_call(run)))
