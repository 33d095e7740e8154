"""Labelled history from the files organisations have: CSV, JSON lines, a Zendesk-style ticket export.

Every reader returns the examples it could read *and* a problem per row it could not, with the file
and line, so nothing is dropped silently: the caller refuses the file (the default) or, when told to
skip bad rows, reports how many and which.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relaydesk.kit.errors import ValidationFailedError

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_TEXT_CHARS",
    "DatasetError",
    "Example",
    "ImportResult",
    "read_csv",
    "read_dataset",
    "read_jsonl",
    "read_zendesk",
    "write_csv",
]

MAX_TEXT_CHARS = 50_000
MAX_LABEL_CHARS = 120
_SHOWN = 10


class DatasetError(ValidationFailedError):
    code = "invalid_dataset"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    origin: str  # "<file>:<line>"


@dataclass
class ImportResult:
    examples: list[Example] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "<file>:<line>: what is wrong"
    rows: int = 0

    def raise_if_problems(self) -> None:
        if not self.problems:
            return
        shown = "\n  ".join(self.problems[:_SHOWN])
        more = f"\n  … and {len(self.problems) - _SHOWN} more" if len(self.problems) > _SHOWN else ""
        raise DatasetError(
            f"{len(self.problems)} of {self.rows} row(s) cannot be used (fix them, or pass "
            f"--skip-invalid to import the rest and list these):\n  {shown}{more}"
        )


def _check(result: ImportResult, where: str, text: Any, label: Any) -> None:
    text = "" if text is None else str(text).strip()
    label = "" if label is None else str(label).strip()
    if not text:
        result.problems.append(f"{where}: the text is empty")
    elif not label:
        result.problems.append(f"{where}: the label is empty")
    elif len(label) > MAX_LABEL_CHARS:
        result.problems.append(f"{where}: the label is longer than {MAX_LABEL_CHARS} characters")
    elif len(text) > MAX_TEXT_CHARS:
        result.problems.append(f"{where}: the text is longer than {MAX_TEXT_CHARS} characters")
    else:
        result.examples.append(Example(text, label, where))


def _open_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_csv(path: Path, *, text_column: str, label_column: str) -> ImportResult:
    """A CSV file with a header row; ``text_column`` and ``label_column`` name two of its columns."""
    result = ImportResult()
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise DatasetError(f"{path}: the file is empty; it needs a header row")
            columns = [c.strip() for c in header]
            missing = [c for c in (text_column, label_column) if c not in columns]
            if missing:
                raise DatasetError(
                    f"{path}:1: no column {missing[0]!r}; the header has: {', '.join(columns)}"
                )
            text_at, label_at = columns.index(text_column), columns.index(label_column)
            line = reader.line_num
            for row in reader:
                where = f"{path.name}:{line + 1}"  # where the record starts (quoted fields span lines)
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue  # a blank line is not a row
                result.rows += 1
                if len(row) != len(columns):
                    result.problems.append(f"{where}: {len(row)} field(s), the header has {len(columns)}")
                    continue
                _check(result, where, row[text_at], row[label_at])
        except csv.Error as exc:
            raise DatasetError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return result


def _dig(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _json_records(path: Path, result: ImportResult) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, line in _open_lines(path):
        if not line.strip():
            continue
        result.rows += 1
        where = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(record, dict):
            result.problems.append(f"{where}: expected a JSON object, got {type(record).__name__}")
            continue
        yield where, record


def read_jsonl(path: Path, *, text_field: str, label_field: str) -> ImportResult:
    """One JSON object per line; fields may be dotted paths (``ticket.body``)."""
    result = ImportResult()
    for where, record in _json_records(path, result):
        _check(result, where, _dig(record, text_field), _dig(record, label_field))
    return result


def _zendesk_label(record: dict[str, Any], label_field: str) -> tuple[Any, str | None]:
    """The label for one exported ticket, or a problem. ``tag:<prefix>`` picks the tag with that prefix."""
    if label_field.startswith("tag:"):
        prefix = label_field[4:]
        tags = record.get("tags") or []
        if not isinstance(tags, list):
            return None, "'tags' is not a list"
        matching = [
            str(t)[len(prefix) :] for t in tags if str(t).startswith(prefix) and len(str(t)) > len(prefix)
        ]
        if len(set(matching)) > 1:
            return None, f"more than one tag starts with {prefix!r}: {sorted(set(matching))}"
        return (matching[0] if matching else None), None
    value = _dig(record, label_field)
    if label_field == "group" and value is None:
        value = record.get("group_name")
    if isinstance(value, dict):  # {"id": 7, "name": "Billing"}
        value = value.get("name")
    return value, None


def read_zendesk(path: Path, *, label_field: str) -> ImportResult:
    """JSON lines of exported tickets (subject, description, tags, group, priority, …).

    The text is the subject and description; ``label_field`` says which field is the label:
    ``group`` (→ team), ``priority``, ``type``, any other field (dotted), or ``tag:<prefix>``
    (→ the tag starting with that prefix, without it: ``tag:cat_`` turns ``cat_billing`` into ``billing``).
    """
    result = ImportResult()
    for where, record in _json_records(path, result):
        subject = str(record.get("subject") or "").strip()
        description = str(record.get("description") or "").strip()
        text = f"{subject}\n{description}" if subject and not description.startswith(subject) else description
        label, problem = _zendesk_label(record, label_field)
        if problem:
            result.problems.append(f"{where}: {problem}")
            continue
        if label is None or not str(label).strip():
            result.problems.append(f"{where}: no {label_field!r} value")
            continue
        _check(result, where, text or subject, label)
    return result


def read_dataset(
    path: Path, *, file_format: str, text_column: str | None, label_column: str | None
) -> ImportResult:
    if file_format == "zendesk":
        if not label_column:
            raise DatasetError("--label-column is required: group, priority, type, a field, or tag:<prefix>")
        return read_zendesk(path, label_field=label_column)
    if not text_column or not label_column:
        raise DatasetError(f"--text-column and --label-column are required for {file_format} files")
    if file_format == "csv":
        return read_csv(path, text_column=text_column, label_column=label_column)
    if file_format == "jsonl":
        return read_jsonl(path, text_field=text_column, label_field=label_column)
    raise DatasetError(f"unknown format {file_format!r}; use csv, jsonl or zendesk")


def write_csv(path: Path, examples: list[Example]) -> None:
    """The normalised form (``text,label``) that ``relaydesk triage train --data`` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for example in examples:
            writer.writerow([example.text, example.label])
