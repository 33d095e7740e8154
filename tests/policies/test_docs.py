"""`relaydesk policy docs`: docs/policies.md is the rendering of the shipped policies."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from relaydesk.cli import app

runner = CliRunner()


def test_docs_policies_md_is_the_output_for_the_shipped_policies(tmp_path):
    out = tmp_path / "policies.md"
    result = runner.invoke(app, ["policy", "docs", "policies", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == Path("docs/policies.md").read_text(), (
        "docs/policies.md is stale: run `relaydesk policy docs policies --out docs/policies.md`"
    )


def test_the_page_has_the_sla_table_and_the_calendars():
    page = runner.invoke(app, ["policy", "docs", "policies"]).output
    assert "| 7 | `default` | *everything else (default)* | `northwind_office` | 8h |" in page
    assert "| `northwind_office` | Europe/London | 08:00-18:00 |" in page
    assert "public holidays of GB-ENG" in page


def test_a_bad_policy_folder_is_refused_not_documented(tmp_path):
    (tmp_path / "sla.yaml").write_text("kind: sla\nspec:\n  policies: []\n")
    result = runner.invoke(app, ["policy", "docs", str(tmp_path)])
    assert result.exit_code == 2 and "sla.yaml:3: spec.policies" in result.output
