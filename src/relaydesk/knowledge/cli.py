"""The ``relaydesk kb`` commands (registered in relaydesk.cli).

The knowledge modules (search index, calibration, import and export) are imported inside the commands
that use them, so ``relaydesk`` starts without loading them for every other command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from relaydesk.db import get_database
from relaydesk.kit.errors import RelaydeskError

__all__ = ["cli"]

cli = typer.Typer(no_args_is_help=True, help="knowledge")

ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
QueriesOption = Annotated[
    Path,
    typer.Option(
        "--queries",
        exists=True,
        dir_okay=False,
        readable=True,
        help="JSONL lines: query, article_id (or null).",
    ),
]


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@contextmanager
def _user_errors() -> Iterator[None]:
    """A mistake in the input is a message and exit code 2, never a traceback."""
    from relaydesk.knowledge.calibration import CalibrationDataError

    try:
        yield
    except (RelaydeskError, CalibrationDataError) as exc:
        typer.secho(getattr(exc, "message", str(exc)), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _import(records_of: Any, source: str) -> None:
    from relaydesk.knowledge.service import Editor
    from relaydesk.knowledge.transfer import ImportReport, import_records

    report = ImportReport()
    with _user_errors(), get_database().transaction() as session:
        import_records(session, records_of(report), Editor(label=f"import:{source}"), report)
    _print(report.as_dict())
    if report.errors:
        typer.secho(
            f"{len(report.errors)} record(s) were not imported; see 'errors' above.", err=True, fg="yellow"
        )
        raise typer.Exit(1)


@cli.command("import")
def import_jsonl(path: ExistingFile) -> None:
    """Import articles from JSONL (id, title, body; optional locale, category, tags, visibility, status).

    Upserts by id; prints counts as JSON. Bad lines are listed with their line number (exit code 1).
    """
    from relaydesk.knowledge.transfer import read_jsonl

    _import(lambda report: read_jsonl(path, report), path.name)


@cli.command("import-markdown")
def import_markdown(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, readable=True)],
) -> None:
    """Import every *.md file under DIRECTORY (YAML front matter: title, optional id, locale, tags, ...)."""
    from relaydesk.knowledge.transfer import read_markdown_dir

    _import(lambda report: read_markdown_dir(directory, report), directory.name)


@cli.command("export")
def export_jsonl(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export every article as JSONL (the import format)."""
    from relaydesk.knowledge.transfer import export_jsonl as export

    with get_database().transaction(read_only=True) as session:
        if output is None:
            export(session, sys.stdout)
            return
        with output.open("w", encoding="utf-8") as handle:
            count = export(session, handle)
    typer.echo(json.dumps({"exported": count, "path": str(output)}))


@cli.command("export-markdown")
def export_markdown(directory: Annotated[Path, typer.Argument(file_okay=False)]) -> None:
    """Write every article as DIRECTORY/<id>.md with YAML front matter."""
    from relaydesk.knowledge.transfer import export_markdown as export

    with get_database().transaction(read_only=True) as session:
        count = export(session, directory)
    typer.echo(json.dumps({"exported": count, "path": str(directory)}))


@cli.command("search")
def search(
    text: Annotated[str, typer.Argument(help="The question, as a customer would ask it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    audience: Annotated[
        str, typer.Option(help="customer (public articles) or agent (internal too).")
    ] = "customer",
    locale: Annotated[str | None, typer.Option(help="Only articles in this locale.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=20)] = 3,
) -> None:
    """Ranked suggestions with calibrated scores, or an abstention when nothing is likely to answer."""
    from dataclasses import asdict

    from relaydesk.knowledge import service

    if audience not in ("customer", "agent"):
        typer.secho("--audience must be customer or agent", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    with get_database().transaction(read_only=True) as session:
        result = service.search(session, text, locale=locale, audience=audience, limit=limit)  # type: ignore[arg-type]
    if as_json:
        _print(asdict(result))
        return
    if result.abstained:
        typer.echo("No article is likely to answer this (abstained).")
    for rank, suggestion in enumerate(result.suggestions, start=1):
        typer.echo(f"{rank}. [{suggestion.score:.2f}] {suggestion.title}  {suggestion.url}")
        typer.echo(f"   {suggestion.snippet}")


@cli.command("evaluate")
def evaluate(
    queries: QueriesOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    locale: Annotated[str | None, typer.Option(help="Only articles in this locale.")] = None,
) -> None:
    """Search each labelled query; print ranking quality, abstention rates and latency percentiles.

    answerable_p_at_1, answerable_recall_at_3 and mrr score the ranking search produces for answerable
    queries, before an abstention hides it; unanswerable_abstain_rate and false_abstain_rate score the
    abstention apart. shown_p_at_1, shown_recall_at_3 and shown_mrr are end to end: an abstention on an
    answerable query counts as a miss.
    """
    from relaydesk.knowledge.evaluation import evaluate as run
    from relaydesk.knowledge.evaluation import load_queries

    with _user_errors():
        labelled = load_queries(queries)
        with get_database().transaction(read_only=True) as session:
            metrics = run(session, labelled, locale=locale)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    for key, value in metrics.items():
        typer.echo(f"{key:28} {value}")


@cli.command("calibrate")
def calibrate(
    queries: QueriesOption,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    max_false_abstain: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Highest share of answerable queries left unanswered.")
    ] = 0.04,
    store: Annotated[bool, typer.Option(help="Store it for this installation (in the database).")] = True,
    output: Annotated[Path | None, typer.Option(help="Also write the calibration JSON here.")] = None,
    learn_questions: Annotated[
        bool,
        typer.Option(
            help="When storing, also add each answerable query to its article's questions (what the "
            "questions model matches new queries against)."
        ),
    ] = True,
) -> None:
    """Refit the relevance model and abstain threshold on your own labelled queries (k-fold cross-validated).

    Prints the cross-validated figures; every process uses the stored calibration within a second.
    The figures with questions hold once the queries are the articles' questions: stored with the
    calibration unless --no-learn-questions (or --no-store), as editor "calibrate:FILE".
    """
    from relaydesk.knowledge import service
    from relaydesk.knowledge.calibration import fit
    from relaydesk.knowledge.evaluation import collect_features, load_queries

    with _user_errors():
        labelled = load_queries(queries)
        with get_database().transaction() as session:
            samples = collect_features(session, labelled)
            calibration = fit(samples, folds=folds, max_false_abstain=max_false_abstain, source=queries.name)
            learnt = None
            if store:
                service.store_calibration(session, calibration)
                if learn_questions:
                    learnt = service.learn_questions(
                        session,
                        [
                            (s.article, q.query)
                            for q, s in zip(labelled, samples, strict=True)
                            if s.article is not None
                        ],
                        service.Editor(label=f"calibrate:{queries.name}"),
                    )
    if output is not None:
        output.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    questions = calibration.questions
    _print(
        {"stored": store, "threshold": calibration.threshold}
        | ({"questions_threshold": questions.threshold} if questions else {})
        | ({"questions_learnt": asdict(learnt)} if learnt else {})
        | calibration.meta
    )


@cli.command("reset-calibration")
def reset_calibration() -> None:
    """Forget this installation's calibration and use the shipped default again."""
    from relaydesk.knowledge import service

    with get_database().transaction() as session:
        service.store_calibration(session, None)
    typer.echo(json.dumps({"calibration": "default"}))
