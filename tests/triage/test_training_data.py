"""Training data from files (CSV, JSON lines, a Zendesk export), from Relaydesk's own tickets and from
agents' corrections; the command line that imports and trains."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from relaydesk.cli import app
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from relaydesk.triage.datasets import DatasetError, read_csv, read_jsonl, read_zendesk
from relaydesk.triage.models import TicketTriage, TriageCorrection
from relaydesk.triage.training import training_set
from tests.factories import make_agent, make_ticket, run_jobs
from tests.triage.conftest import HISTORY
from tests.triage.test_pipeline import inbound

runner = CliRunner()


def _zendesk(path, tickets):
    path.write_text("\n".join(json.dumps(t) for t in tickets) + "\n")
    return path


def test_csv_rows_with_problems_are_reported_by_line_not_dropped(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        'id,body,category\n1,"My parcel, it never came",shipping_issue\n2,"two\nlines",refund_request\n'
        "3,,refund_request\n4,I cannot log in,\n5,too,many,fields\n"
    )
    result = read_csv(path, text_column="body", label_column="category")
    assert [(e.text, e.label, e.origin) for e in result.examples] == [
        ("My parcel, it never came", "shipping_issue", "history.csv:2"),
        ("two\nlines", "refund_request", "history.csv:3"),
    ]
    assert result.problems == [
        "history.csv:5: the text is empty",
        "history.csv:6: the label is empty",
        "history.csv:7: 4 field(s), the header has 3",
    ]
    with pytest.raises(DatasetError, match=r"3 of 5 row\(s\) cannot be used"):
        result.raise_if_problems()


def test_a_missing_column_names_the_columns_there_are(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("text,category\nhello,x\n")
    with pytest.raises(DatasetError, match=r"no column 'label'; the header has: text, category"):
        read_csv(path, text_column="text", label_column="label")


def test_jsonl_reads_dotted_fields_and_reports_bad_lines(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text(
        '{"ticket": {"body": "Where is my parcel"}, "label": "shipping_issue"}\n\n{not json}\n["a list"]\n'
    )
    result = read_jsonl(path, text_field="ticket.body", label_field="label")
    assert [(e.text, e.origin) for e in result.examples] == [("Where is my parcel", "history.jsonl:1")]
    assert result.problems[0].startswith("history.jsonl:3: not valid JSON")
    assert result.problems[1] == "history.jsonl:4: expected a JSON object, got list"


def test_zendesk_export_maps_subject_and_description_and_any_field_to_a_head(tmp_path):
    path = _zendesk(
        tmp_path / "export.jsonl",
        [
            {
                "subject": "Parcel missing",
                "description": "It never came",
                "tags": ["vip", "cat_shipping_issue"],
                "group": {"id": 3, "name": "Logistics"},
                "priority": "high",
            },
            {"subject": "Refund", "description": "Money back please", "tags": [], "group": "Billing"},
            {"subject": "Both", "description": "x", "tags": ["cat_a", "cat_b"], "priority": "low"},
        ],
    )
    teams = read_zendesk(path, label_field="group")
    assert [(e.text, e.label) for e in teams.examples] == [
        ("Parcel missing\nIt never came", "Logistics"),
        ("Refund\nMoney back please", "Billing"),
    ]
    assert teams.problems == ["export.jsonl:3: no 'group' value"]
    categories = read_zendesk(path, label_field="tag:cat_")
    assert [e.label for e in categories.examples] == ["shipping_issue"]
    assert categories.problems == [
        "export.jsonl:2: no 'tag:cat_' value",
        "export.jsonl:3: more than one tag starts with 'cat_': ['a', 'b']",
    ]
    assert [e.label for e in read_zendesk(path, label_field="priority").examples] == ["high", "low"]


def test_import_command_stores_history_and_train_command_trains_a_version(database, tmp_path):
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message", "topic"])
        for label, texts in HISTORY.items():
            writer.writerows([text, label] for text in texts)
        writer.writerow(["", "refund_request"])

    args = ["triage", "import", str(path), "--format", "csv", "--head", "category"]
    args += ["--text-column", "message", "--label-column", "topic"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "history.csv:26: the text is empty" in refused.output

    args.append("--skip-invalid")
    imported = runner.invoke(app, args)
    assert imported.exit_code == 0, imported.output
    assert "skipped history.csv:26: the text is empty" in imported.output
    summary = json.loads(imported.output.strip().splitlines()[-1])
    assert summary["stored"] == 24 and summary["skipped"] == 1
    again = json.loads(runner.invoke(app, args).output.strip().splitlines()[-1])
    assert again["stored"] == 0 and again["duplicates"] == 24

    out = tmp_path / "dataset.csv"
    written = runner.invoke(app, [*args, "--out", str(out)])
    assert written.exit_code == 0 and out.read_text().startswith("text,label\n")

    trained = runner.invoke(app, ["triage", "train", "--head", "category", "--data", str(out), "--activate"])
    assert trained.exit_code == 0, trained.output
    # (the embedding model's progress bar shares the captured output)
    reports = [json.loads(line[line.index("{") :]) for line in trained.output.splitlines() if "{" in line]
    assert reports[0]["data"]["by_source"] == {"file": 24}
    assert reports[-1]["version"] == "category-1" and reports[-1]["state"] == "active"


def test_resolved_tickets_and_agent_corrections_become_labelled_examples(client, database, category_model):
    # An agent-resolved ticket: the settled category is its label.
    resolved = make_ticket(database, body="My parcel never arrived", email="a@example.com")
    with database.transaction() as session:
        row = session.get(Ticket, resolved)
        tickets.update_ticket(session, row, TicketUpdate(category="shipping_issue"), Actor(AuthorKind.SYSTEM))
        tickets.change_status(session, row, StatusChange(status="resolved"), Actor(AuthorKind.SYSTEM))
    # Triage says "account access"; the agent knows better.
    corrected = inbound(database, "I was charged but cannot log in to see my refund", who="visitor-7")
    run_jobs(database)
    agent = make_agent(database)
    response = client.patch(
        f"/api/v1/tickets/{corrected}", json={"category": "refund_request"}, headers=agent.headers
    )
    assert response.status_code == 200
    run_jobs(database)

    with database.transaction() as session:
        [correction] = session.scalars(select(TriageCorrection)).all()
        triaged = session.scalars(select(TicketTriage).where(TicketTriage.ticket_id == corrected)).one()
        data = training_set(session, "category")
    assert correction.ticket_id == corrected and correction.corrected_label == "refund_request"
    assert correction.agent_id == agent.agent_id and correction.model_version == category_model
    # What the model said (a label, or None where it abstained) is kept beside the agent's answer.
    assert correction.predicted_label == triaged.predictions["category"]["label"]
    assert data.summary()["by_source"] == {"agent_correction": 1, "resolved_ticket": 1}
    assert sorted(zip(data.labels, data.texts, strict=True)) == [
        ("refund_request", "I was charged but cannot log in to see my refund"),
        ("shipping_issue", "My parcel never arrived"),
    ]
    summary = runner.invoke(app, ["triage", "summary", "--head", "category"])
    assert json.loads(summary.output)["by_source"] == {"agent_correction": 1, "resolved_ticket": 1}
    too_little = runner.invoke(app, ["triage", "train", "--head", "category", "--from-tickets"])
    assert too_little.exit_code == 2 and "at least 4 examples" in too_little.output


def test_scheduled_retraining_learns_from_triage_data(database):
    from relaydesk.classification.classifier import TrainingOptions
    from relaydesk.classification.tasks import retrain_head
    from relaydesk.jobs import discover_tasks
    from relaydesk.triage.datasets import Example
    from relaydesk.triage.training import store_examples

    discover_tasks()  # as every worker does: triage's tasks module registers the sources
    with database.transaction() as session:
        examples = [
            Example(t, label, f"h.csv:{n}") for label, ts in HISTORY.items() for n, t in enumerate(ts)
        ]
        store_examples(session, "category", examples)
    with database.transaction() as session:
        report = retrain_head(session, "category", options=TrainingOptions(use_embeddings=False))
    assert report["source"] == "source:triage:category" and report["n"] == 24
