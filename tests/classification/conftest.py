"""Small slices of the bundled CLINC150 data: a handful of intents plus out-of-scope queries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "clinc150"
INTENTS = ("translate", "transfer", "timer", "balance")


def _slice(source: Path, target: Path, labels: tuple[str, ...], per_label: int) -> Path:
    taken: dict[str, int] = {}
    with source.open(newline="") as handle, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        for row in csv.DictReader(handle):
            if row["label"] in labels and taken.get(row["label"], 0) < per_label:
                taken[row["label"]] = taken.get(row["label"], 0) + 1
                writer.writerow([row["text"], row["label"]])
    return target


@pytest.fixture(scope="session")
def clinc_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(train.csv, val.csv): four intents + oos, 60 training and 20 validation rows each."""
    folder = tmp_path_factory.mktemp("clinc")
    labels = (*INTENTS, "oos")
    return (
        _slice(DATA / "train.csv", folder / "train.csv", labels, 60),
        _slice(DATA / "val.csv", folder / "val.csv", labels, 20),
    )


def read_rows(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]
