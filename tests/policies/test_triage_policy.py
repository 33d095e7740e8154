"""The ``triage`` policy kind: validated with the file and the field named, by the loader and by
``relaydesk policy check``."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relaydesk.cli import app
from relaydesk.policies import PolicyError, load_policy_dir
from relaydesk.triage.policy import TriagePolicy

runner = CliRunner()
SHIPPED = Path("policies")


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    for path in SHIPPED.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    triage = tmp_path / "triage.yaml"
    text = triage.read_text()
    assert old in text
    triage.write_text(text.replace(old, new))
    return tmp_path


def test_shipped_triage_policy_is_valid_and_complete():
    policy = load_policy_dir(SHIPPED)["triage"]
    assert isinstance(policy, TriagePolicy)
    assert set(policy.heads) == {"category", "team", "priority"} and "en" in policy.languages
    assert policy.tiers["vip"].at_least == "high"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("languages: [en,", "languages: [xx,", r"triage.yaml:\d+: spec.languages: .*unknown ISO 639-1.*'xx'"),
        (
            "similarity: 0.8",
            "similarity: 2",
            r"triage.yaml:\d+: spec.impact.similarity: .*less than or equal to 1",
        ),
        ("    team: {", "    teams: {", r"triage.yaml:\d+: spec.heads: .*unknown head\(s\) \['teams'\]"),
        ("{customers: 10,", "{customers: 2,", r"triage.yaml:\d+: spec.impact.steps: .*ascending order"),
        ("at_least: high", "at_least: asap", r"triage.yaml:\d+: spec.tiers.vip.at_least"),
        (
            "raise_priority: 1}\n",
            "raise_priority: 1, bonus: 2}\n",
            r"spec.impact.steps.0.bonus: Extra inputs",
        ),
    ],
)
def test_bad_triage_policy_is_refused_naming_file_and_field(tmp_path, old, new, problem):
    folder = _copy_with(tmp_path, old, new)
    with pytest.raises(PolicyError, match=problem):
        load_policy_dir(folder)


def test_policy_check_command_reports_the_bad_file_and_field(tmp_path):
    folder = _copy_with(tmp_path, "similarity: 0.8", "similarity: high")
    result = runner.invoke(app, ["policy", "check", str(folder)])
    assert result.exit_code == 2
    line = next(
        n
        for n, text in enumerate((folder / "triage.yaml").read_text().splitlines(), 1)
        if "similarity:" in text
    )
    assert f"triage.yaml:{line}: spec.impact.similarity" in result.output
    good = runner.invoke(app, ["policy", "check", str(SHIPPED)])
    assert good.exit_code == 0 and '"triage"' in good.output and '"required_fields"' in good.output
