"""Full-data classifier figures: BANKING77 and CLINC150 through the ``relaydesk model`` command line.

    .venv/bin/python bench/classification.py                  # both data sets
    .venv/bin/python bench/classification.py --only banking77 --keep /tmp/models

BANKING77: a stratified 15 % of ``data/banking77/train.csv`` (seed 0) is held out and written to a
temporary file; the model is trained on the other 85 % (its own cross-validation calibrates it) and
evaluated on the held-out rows. The official test split is not in the repository.
CLINC150: trained on ``data/clinc150/train.csv`` with ``--abstain-label oos`` (the threshold is chosen
by cross-validation on train.csv), evaluated on ``data/clinc150/val.csv``.

Each step runs the real command as a child process; wall time and the child's user/system CPU time
(``getrusage``) are reported, as ``time`` would. Results go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def run_timed(args: list[str]) -> tuple[str, dict[str, float]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "relaydesk.cli", "model", *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"relaydesk model {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout, {
        "wall_s": round(wall, 1),
        "user_s": round(after.ru_utime - before.ru_utime, 1),
        "sys_s": round(after.ru_stime - before.ru_stime, 1),
    }


def stratified_split(
    path: Path, label_column: str, fraction: float, seed: int, folder: Path
) -> tuple[Path, Path]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_column]].append(row)
    rng = random.Random(seed)
    train_rows, held_rows = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        cut = max(1, round(len(group) * fraction))
        held_rows += group[:cut]
        train_rows += group[cut:]
    paths = []
    for name, part in (("train.csv", train_rows), ("heldout.csv", held_rows)):
        target = folder / name
        with target.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
            writer.writerows(part)
        paths.append(target)
    return paths[0], paths[1]


def bench(
    name: str,
    train_csv: Path,
    eval_csv: Path,
    text: str,
    label: str,
    abstain: str | None,
    extra: list[str],
    work: Path,
) -> dict[str, Any]:
    model_dir = work / f"model-{name}"
    columns = ["--text-column", text, "--label-column", label]
    abstain_args = ["--abstain-label", abstain] if abstain else []
    train_out, train_time = run_timed(
        ["train", "--data", str(train_csv), *columns, "--out", str(model_dir), *abstain_args, *extra]
    )
    evaluation, eval_time = run_timed(
        ["evaluate", "--model", str(model_dir), "--data", str(eval_csv), *columns, *abstain_args, "--json"]
    )
    return {
        "data": name,
        "train": {**train_time, "summary": json.loads(train_out)},
        "evaluate": {**eval_time, **json.loads(evaluation)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["banking77", "clinc150"])
    parser.add_argument("--keep", type=Path, help="Keep the model folders here.")
    args = parser.parse_args()
    extra: list[str] = []
    os.environ.setdefault("RELAYDESK_VAR_DIR", tempfile.mkdtemp(prefix="relaydesk-bench-var-"))
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.only in (None, "banking77"):
            split = work / "banking77-split"
            split.mkdir(exist_ok=True)
            train_csv, held_csv = stratified_split(
                DATA / "banking77" / "train.csv", "category", 0.15, 0, split
            )
            print(
                json.dumps(bench("banking77", train_csv, held_csv, "text", "category", None, extra, work)),
                flush=True,
            )
        if args.only in (None, "clinc150"):
            folder = DATA / "clinc150"
            result = bench(
                "clinc150", folder / "train.csv", folder / "val.csv", "text", "label", "oos", extra, work
            )
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
