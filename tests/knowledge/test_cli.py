"""``relaydesk kb`` run as a real process against the test database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from relaydesk.knowledge.enums import ArticleStatus
from relaydesk.knowledge.text import question_key
from tests.factories import run_cli
from tests.knowledge.conftest import DATA, add_article, stackfaq_articles


def kb(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli("kb", *args, check=check)


def test_import_search_and_evaluate_as_commands(database, tmp_path: Path):
    if not database.is_sqlite:
        # Three child processes each load the sentence encoder (~15 s apiece on the shared CI box); the
        # commands only call the services that every other test here runs on both databases.
        pytest.skip("the command line is exercised once, on SQLite")
    articles = stackfaq_articles(4)
    lines = [json.dumps(a) for a in articles[:2]]
    lines.append("{not json")
    lines.append(json.dumps({"id": "faq-x", "body": "no title"}))
    lines.append(json.dumps({**articles[2], "visibility": "internal", "tags": ["gmail"]}))
    source = tmp_path / "kb.jsonl"
    source.write_text("\n".join(lines) + "\n")
    first = kb("import", str(source), check=False)
    report = json.loads(first.stdout)
    assert first.returncode == 1
    assert (report["created"], report["failed"]) == (3, 2)
    assert [e["line"] for e in report["errors"]] == [3, 4] and "title" in report["errors"][1]["error"]

    found = json.loads(kb("search", "How do I delete my Facebook account for good?", "--json").stdout)
    assert (
        not found["abstained"] and found["suggestions"][0]["title"] == "How do I delete my Facebook account?"
    )
    assert set(found["suggestions"][0]) == {"article_id", "title", "snippet", "url", "score"}

    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {"query": "remove my facebook account permanently", "article_id": "faq-001"},
                {"query": "cross out words in a github markdown file", "article_id": "faq-000"},
                {"query": "boiling point of water on mount everest", "article_id": None},
            ]
        )
    )
    metrics = json.loads(kb("evaluate", "--queries", str(queries), "--json").stdout)
    assert list(metrics) == [
        "answerable_p_at_1",
        "answerable_recall_at_3",
        "mrr",
        "unanswerable_abstain_rate",
        "false_abstain_rate",
        "p50_ms",
        "p99_ms",
        "n",
        "shown_p_at_1",
        "shown_recall_at_3",
        "shown_mrr",
        "questions_left_out",
    ]
    assert metrics["n"] == 3 and metrics["questions_left_out"] == 0
    assert metrics["answerable_recall_at_3"] == 1.0
    assert metrics["shown_recall_at_3"] == 1.0 - metrics["false_abstain_rate"]
    assert metrics["unanswerable_abstain_rate"] == 1.0

    queries.write_text('{"query": "x", "article_id": "faq-nope"}\n{"query": ""}\n')
    bad = kb("evaluate", "--queries", str(queries), check=False)
    assert bad.returncode == 2 and "line 2" in bad.stderr


def test_export_markdown_writes_one_file_per_article_with_front_matter(database, tmp_path: Path):
    add_article(
        database, "Gift cards", "They **never** expire.", external_id="a-1", status=ArticleStatus.DRAFT
    )
    folder = tmp_path / "md"
    assert json.loads(kb("export-markdown", str(folder)).stdout)["exported"] == 1
    text = (folder / "a-1.md").read_text()
    assert text.startswith("---\n") and "title: Gift cards" in text and "status: draft" in text
    assert text.rstrip().endswith("They **never** expire.")


def test_import_and_export_carry_questions_and_report_a_bad_list_by_line(database, tmp_path: Path):
    source = tmp_path / "kb.jsonl"
    lines = [
        # Drafts: nothing to embed, so the command does not load the sentence encoder.
        {"id": "a-1", "title": "Gift cards", "status": "draft",
         "questions": ["do gift cards expire", "Do gift cards  expire", "is my voucher still good"]},
        {"id": "a-2", "title": "Returns", "status": "draft", "questions": [""]},
    ]  # fmt: skip
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    imported = kb("import", str(source), check=False)
    report = json.loads(imported.stdout)
    assert imported.returncode == 1 and (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["line"] == 2 and "questions.0" in report["errors"][0]["error"]

    exported = tmp_path / "out.jsonl"
    kb("export", "-o", str(exported))
    assert [json.loads(line)["questions"] for line in exported.read_text().splitlines()] == [
        ["do gift cards expire", "is my voucher still good"]
    ]


def test_calibrate_learns_the_queries_as_questions_and_evaluate_leaves_each_its_own_out(
    database, tmp_path: Path
):
    if not database.is_sqlite:
        pytest.skip("the command line is exercised once, on SQLite")
    articles = stackfaq_articles(8)
    source = tmp_path / "kb.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in articles))
    kb("import", str(source))
    wanted = {a["id"] for a in articles}
    dev = [json.loads(line) for line in (DATA / "dev_queries.jsonl").read_text().splitlines()]
    labelled = [q for q in dev if q["article_id"] in wanted][:40]
    labelled += [q for q in dev if q["article_id"] is None][:10]
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in labelled))

    saved = tmp_path / "calibration.json"
    report = json.loads(kb("calibrate", "--queries", str(queries), "--output", str(saved)).stdout)
    answerable = sum(q["article_id"] is not None for q in labelled)
    # The questions it stores are the ones its questions model reads both ways.
    fitted = set(json.loads(saved.read_text())["fitted_questions"])
    assert fitted == {question_key(q["query"]) for q in labelled if q["article_id"] is not None}
    assert report["stored"] and report["questions_learnt"]["added"] == answerable
    assert "questions_threshold" in report and "cross_validated_without_questions" in report
    exported = [json.loads(line) for line in kb("export").stdout.splitlines()]
    first = next(q for q in labelled if q["article_id"] == articles[1]["id"])
    assert first["query"] in next(a for a in exported if a["id"] == articles[1]["id"])["questions"]

    metrics = json.loads(kb("evaluate", "--queries", str(queries), "--json").stdout)
    assert metrics["questions_left_out"] == answerable and metrics["n"] == len(labelled)
