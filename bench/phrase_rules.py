"""Phrase rules: matching cost per message length, and compile cost, for the shipped packs.

    .venv/bin/python bench/phrase_rules.py --repeat 20

Matches the shipped ``policies/phrase_rules.yaml`` (every pack: the language of a first message is not
known yet) against messages of ordinary support text of 1 KB to 1 MB with one legal threat at the end,
and reports the median time per message and the throughput in MB/s; then the median time to validate
and compile the whole policy (what a hot reload costs). Pure CPU: no database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from relaydesk.escalation.phrases import PhraseRulesPolicy  # noqa: E402

FILLER = (
    "Hello, my order arrived yesterday but the jacket is the wrong size and the zip on the boots is "
    "broken. Could you tell me how to return it and when I get my refund? Thank you, Ana. "
)


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    spec = yaml.safe_load((ROOT / "policies" / "phrase_rules.yaml").read_text(encoding="utf-8"))["spec"]
    policy = PhraseRulesPolicy.model_validate(spec)
    phrases = sum(len(r.phrases) + len(r.unless) for rules in policy.packs.values() for r in rules)
    rows = []
    for size in (1_000, 10_000, 100_000, 1_000_000):
        text = FILLER * (size // len(FILLER)) + " and my lawyer will call you"
        assert [m.rule.name for m in policy.match(text)] == ["legal_threat"]
        seconds = _median_seconds(lambda t=text: policy.match(t), args.repeat)
        rows.append(
            {
                "chars": len(text),
                "ms": round(seconds * 1000, 3),
                "mb_per_s": round(len(text) / seconds / 1e6, 1),
            }
        )
    compile_s = _median_seconds(lambda: PhraseRulesPolicy.model_validate(spec), args.repeat)
    print(json.dumps({"phrases": phrases, "match": rows, "compile_ms": round(compile_s * 1000, 2)}, indent=2))


if __name__ == "__main__":
    main()
