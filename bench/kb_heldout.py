"""Held-out knowledge search quality through the commands alone: calibrate on part of the StackFAQ dev
queries, evaluate on the rest, as an acceptance run with its own held-out file would.

    nice -n 10 .venv/bin/python bench/kb_heldout.py --split questions --seed 0

For each of five folds (``bench/kb_quality_cv.py``'s ``folds``: ``questions`` keeps every unanswerable
question's paraphrases in one fold, so the evaluated unanswerable questions are never calibrated on;
answerable queries are split at random) it copies a fresh SQLite database holding only the imported
``data/stackfaq/kb.jsonl``, runs ``relaydesk kb calibrate --queries TRAIN`` (which stores the
calibration and learns TRAIN's answerable queries as their articles' questions), then ``relaydesk kb
evaluate --queries TEST --json``. It prints each fold's figures and the pooled ones (each query counted
once). ``--no-learn-questions`` calibrates without storing the questions: the base model alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "stackfaq"
sys.path.insert(0, str(ROOT / "bench"))

from kb_quality_cv import folds  # noqa: E402  (the same folds as the cross-validated experiments)


def relaydesk(database: Path, *args: str) -> str:
    env = os.environ | {"RELAYDESK_DATABASE_URL": f"sqlite:///{database}", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "relaydesk.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"relaydesk {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=("random", "grouped", "questions"), default="questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-learn-questions", action="store_true")
    args = parser.parse_args()

    labelled = [json.loads(line) for line in (DATA / "dev_queries.jsonl").read_text().splitlines()]
    rows = [{"query": q["query"], "gold": q["article_id"]} for q in labelled]
    work = Path(tempfile.mkdtemp(prefix="kb-heldout-"))
    template = work / "template.db"
    relaydesk(template, "db", "upgrade")
    relaydesk(template, "kb", "import", str(DATA / "kb.jsonl"))

    totals: dict[str, float] = {}
    counts = {"answerable": 0, "unanswerable": 0}
    print("| fold | n | P@1 | recall@3 | MRR | unanswerable abstained | false abstention | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for number, (train, test) in enumerate(folds({"rows": rows}, args.seed, args.split), start=1):
        database = work / f"fold{number}.db"
        shutil.copy(template, database)
        for name, indices in (("train", train), ("test", test)):
            (work / f"{name}{number}.jsonl").write_text(
                "".join(json.dumps(labelled[i]) + "\n" for i in indices)
            )
        extra = ["--no-learn-questions"] if args.no_learn_questions else []
        relaydesk(database, "kb", "calibrate", "--queries", str(work / f"train{number}.jsonl"), *extra)
        metrics: dict[str, Any] = json.loads(
            relaydesk(database, "kb", "evaluate", "--queries", str(work / f"test{number}.jsonl"), "--json")
        )
        answerable = sum(labelled[i]["article_id"] is not None for i in test)
        unanswerable = len(test) - answerable
        counts["answerable"] += answerable
        counts["unanswerable"] += unanswerable
        for key in ("answerable_p_at_1", "answerable_recall_at_3", "mrr", "false_abstain_rate"):
            totals[key] = totals.get(key, 0.0) + metrics[key] * answerable
        totals["unanswerable_abstain_rate"] = (
            totals.get("unanswerable_abstain_rate", 0.0) + metrics["unanswerable_abstain_rate"] * unanswerable
        )
        print(
            f"| {number} | {metrics['n']} | {metrics['answerable_p_at_1']:.3f} | "
            f"{metrics['answerable_recall_at_3']:.3f} | {metrics['mrr']:.3f} | "
            f"{metrics['unanswerable_abstain_rate']:.3f} | {metrics['false_abstain_rate']:.3f} | "
            f"{metrics['p99_ms']:.1f} |",
            flush=True,
        )
    pooled = {
        key: value / counts["unanswerable" if key == "unanswerable_abstain_rate" else "answerable"]
        for key, value in totals.items()
    }
    print(
        f"| pooled | {sum(counts.values())} | {pooled['answerable_p_at_1']:.3f} | "
        f"{pooled['answerable_recall_at_3']:.3f} | {pooled['mrr']:.3f} | "
        f"{pooled['unanswerable_abstain_rate']:.3f} | {pooled['false_abstain_rate']:.3f} | |"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
