"""The ``relaydesk model`` train / evaluate / predict contract on a small CLINC150 slice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relaydesk.cli import app

runner = CliRunner()


def model_cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", *[str(a) for a in args]])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def trained(clinc_slice, tmp_path_factory) -> Path:
    train_csv, _ = clinc_slice
    out = tmp_path_factory.mktemp("models") / "clinc"
    code, stdout, stderr = model_cli(
        "train", "--data", train_csv, "--text-column", "text", "--label-column", "label",
        "--out", out, "--abstain-label", "oos",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert 0 <= summary["threshold"] < 1
    assert {"accuracy", "macro_f1", "ece", "in_scope_accuracy", "oos_recall"} <= summary.keys()
    assert (out / "meta.json").is_file() and (out / "model.joblib").is_file()
    return out


def test_evaluate_with_abstain_label_prints_the_contract_keys(trained, clinc_slice):
    _, val_csv = clinc_slice
    code, stdout, stderr = model_cli(
        "evaluate", "--model", trained, "--data", val_csv, "--text-column", "text",
        "--label-column", "label", "--abstain-label", "oos", "--json", "--latency-samples", "30",
    )  # fmt: skip
    assert code == 0, stderr
    report = json.loads(stdout)
    assert set(report) == {"n", "accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "p50_ms", "p99_ms"}
    assert report["n"] == 100
    assert report["in_scope_accuracy"] >= 0.9  # four easy intents
    assert 0 < report["p50_ms"] <= report["p99_ms"]


def test_evaluate_without_abstain_label_leaves_out_scope_figures(trained, clinc_slice):
    _, val_csv = clinc_slice
    code, stdout, stderr = model_cli(
        "evaluate", "--model", trained, "--data", val_csv, "--text-column", "text",
        "--label-column", "label", "--json", "--latency-samples", "5",
    )  # fmt: skip
    assert code == 0, stderr
    assert set(json.loads(stdout)) == {"n", "accuracy", "macro_f1", "p50_ms", "p99_ms"}


def test_a_prediction_below_the_threshold_counts_as_the_abstain_label(trained, clinc_slice, tmp_path):
    _, val_csv = clinc_slice
    unsure = tmp_path / "unsure"
    shutil.copytree(trained, unsure)
    meta = json.loads((unsure / "meta.json").read_text())
    meta["threshold"] = 1.01  # no probability reaches it: every prediction abstains
    (unsure / "meta.json").write_text(json.dumps(meta))
    code, stdout, stderr = model_cli(
        "evaluate", "--model", unsure, "--data", val_csv, "--text-column", "text",
        "--label-column", "label", "--abstain-label", "oos", "--json", "--latency-samples", "5",
    )  # fmt: skip
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["in_scope_accuracy"] == 0.0
    assert report["oos_recall"] == 1.0
    assert report["accuracy"] == 0.2  # only the 20 oos rows are right

    code, stdout, _ = model_cli("predict", "--model", unsure, "how do i say thanks in german", "--json")
    assert code == 0
    assert json.loads(stdout)["label"] == "oos"
    assert json.loads(stdout)["abstained"] is True


def test_predict_prints_label_confidence_and_top_three(trained):
    code, stdout, stderr = model_cli("predict", "--model", trained, "how do i say thanks in german", "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["label"] == "translate"
    assert result["abstained"] is False
    assert 0.5 < result["confidence"] <= 1.0
    assert len(result["top"]) == 3
    assert result["top"][0][0] == "translate"
    assert sum(p for _label, p in result["top"]) <= 1.0 + 1e-6


def test_missing_file_or_column_exits_2_and_says_what_to_fix(clinc_slice, tmp_path):
    train_csv, _ = clinc_slice
    code, _, stderr = model_cli(
        "train", "--data", tmp_path / "nope.csv", "--text-column", "text", "--label-column", "label",
        "--out", tmp_path / "m",
    )  # fmt: skip
    assert code == 2
    assert "no such data file" in stderr
    code, _, stderr = model_cli(
        "train", "--data", train_csv, "--text-column", "body", "--label-column", "label",
        "--out", tmp_path / "m",
    )  # fmt: skip
    assert code == 2
    assert "'body' not found" in stderr and "text, label" in stderr
    code, _, stderr = model_cli("predict", "--model", tmp_path, "hello", "--json")
    assert code == 2
    assert "not a model folder" in stderr


def test_too_few_examples_per_class_exits_2(tmp_path):
    data = tmp_path / "few.csv"
    data.write_text("text,label\n" + "".join(f"text {i},a\n" for i in range(10)) + "one,b\ntwo,b\n")
    code, _, stderr = model_cli(
        "train", "--data", data, "--text-column", "text", "--label-column", "label", "--out", tmp_path / "m"
    )
    assert code == 2
    assert "at least 4 examples" in stderr and "'b' (2)" in stderr
    assert not (tmp_path / "m").exists()


def test_blank_rows_are_refused_not_dropped(tmp_path):
    data = tmp_path / "blank.csv"
    data.write_text("text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(10)) + ",a\n")
    code, _, stderr = model_cli(
        "train", "--data", data, "--text-column", "text", "--label-column", "label", "--out", tmp_path / "m"
    )
    assert code == 2
    assert "empty text or label (line 12)" in stderr


def test_a_caller_that_has_the_embedding_gets_the_same_prediction_without_a_second_encode(
    trained, clinc_slice, tmp_path
):
    from relaydesk.classification.classifier import load_classifier
    from relaydesk.ml.embeddings import embed

    text = "please start a timer for twenty minutes"
    # The default model has fine-tuned layers: it runs its own pass, which yields the same embedding.
    model = load_classifier(trained)
    given, encoded = model.predict_one(text, embed([text])[0]), model.predict_one(text)
    assert given.label == encoded.label == "timer"
    assert given.confidence == pytest.approx(encoded.confidence, abs=1e-6)
    # A frozen-encoder model reads the caller's embedding: a wrong one changes the features, proof
    # that the given one is used, not recomputed.
    code, _, stderr = model_cli(
        "train", "--data", clinc_slice[0], "--text-column", "text", "--label-column", "label",
        "--out", tmp_path / "frozen", "--abstain-label", "oos", "--fine-tune-layers", "0",
    )  # fmt: skip
    assert code == 0, stderr
    frozen = load_classifier(tmp_path / "frozen")
    assert frozen.top_layers is None
    given, encoded = frozen.predict_one(text, embed([text])[0]), frozen.predict_one(text)
    assert given.confidence == pytest.approx(encoded.confidence, abs=1e-6)
    assert frozen.predict_one(text, embed(["what is my balance"])[0]).confidence != encoded.confidence
