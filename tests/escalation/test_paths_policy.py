"""The escalation_paths policy: the shipped file fits the demo brand, and a bad edit is refused naming
the file and the field."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from relaydesk.demo.seed import TEAMS
from relaydesk.escalation.policy import EscalationPathsPolicy, policy_version
from relaydesk.policies import PolicyError, load_policy_dir
from relaydesk.tickets.enums import EscalationLevel
from tests.escalation.conftest import PATHS

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


def _load(folder: Path, spec: dict[str, Any], text: str | None = None) -> EscalationPathsPolicy:
    (folder / "escalation_paths.yaml").write_text(
        text if text is not None else yaml.safe_dump({"kind": "escalation_paths", "spec": spec})
    )
    loaded = load_policy_dir(folder)["escalation_paths"]
    assert isinstance(loaded, EscalationPathsPolicy)
    return loaded


def test_the_shipped_paths_name_the_demo_teams_and_send_legal_to_the_restricted_one():
    policy = load_policy_dir(SHIPPED)["escalation_paths"]
    assert isinstance(policy, EscalationPathsPolicy)
    demo_teams = {name: restricted for name, _, restricted in TEAMS}
    named = {rule.team for path in policy.paths for rule in path.levels if rule.team} | {
        team for path in policy.paths for team in path.teams
    }
    assert named <= demo_teams.keys()
    for path in policy.paths:
        legal = path.rule(EscalationLevel.LEGAL)
        assert legal is not None and demo_teams[legal.team or ""] is True
    assert policy.path_for_team("Technical").name == "specialist"
    assert policy.path_for_team(None).name == "frontline"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "levels": [
                    {"level": "tier2", "pickup_minutes": 5},
                    {"level": "frontline", "pickup_minutes": 5},
                ]
            },
            "spec.paths.0: Value error, levels go up the ladder once each",
        ),
        (
            {"levels": [{"level": "legal", "pickup_minutes": 5}]},
            "the legal level must name its (restricted) team",
        ),
        ({"levels": [{"level": "tier2", "pickup_minutes": 0}]}, "spec.paths.0.levels.0.pickup_minutes"),
        ({"levels": [{"level": "tier2", "pickup_minutes": 5, "role": "boss"}]}, "spec.paths.0.levels.0.role"),
    ],
)
def test_a_bad_path_is_refused_naming_the_file_and_the_field(tmp_path, change, message):
    spec = {**PATHS, "paths": [{**PATHS["paths"][0], **change}]}
    with pytest.raises(PolicyError) as refused:
        _load(tmp_path, spec)
    assert re.match(r"escalation_paths\.yaml:\d+: ", refused.value.message)
    assert message in refused.value.message


def test_the_overdue_reason_must_be_one_of_the_reasons(tmp_path):
    with pytest.raises(PolicyError, match="pickup_overdue_reason 'gone' is not one of the reasons"):
        _load(tmp_path, {**PATHS, "pickup_overdue_reason": "gone"})


def test_a_team_climbs_one_path(tmp_path):
    second = {**PATHS["paths"][0], "name": "other", "default": False}
    with pytest.raises(PolicyError, match="a team climbs one path"):
        _load(tmp_path, {**PATHS, "paths": [PATHS["paths"][0], second]})


def test_the_policy_version_follows_the_content_not_the_comments(tmp_path):
    text = yaml.safe_dump({"kind": "escalation_paths", "spec": PATHS})
    first = policy_version(_load(tmp_path, PATHS, text))
    assert policy_version(_load(tmp_path, PATHS, "# reviewed by legal\n" + text)) == first
    shorter = {**PATHS, "reasons": PATHS["reasons"][1:]}
    assert policy_version(_load(tmp_path, shorter)) != first


def test_policy_docs_draw_each_shipped_path_as_a_mermaid_diagram():
    from relaydesk.escalation.policy import EscalationPathsPolicy
    from relaydesk.policies import load_policy_dir, render_policy_docs

    text = render_policy_docs(Path("policies"))
    shipped = load_policy_dir(Path("policies"))["escalation_paths"]
    assert isinstance(shipped, EscalationPathsPolicy)
    assert text.count("```mermaid") == len(shipped.paths)
    for path in shipped.paths:
        levels = [rule.level.value for rule in path.levels]
        for lower, upper in itertools.pairwise(levels):
            assert f"{path.name}_{lower} -->|escalate| {path.name}_{upper}" in text
