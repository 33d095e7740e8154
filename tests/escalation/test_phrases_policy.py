"""The ``phrase_rules`` policy kind: a bad edit is refused naming the file and the field, the shipped
folder passes ``relaydesk policy check``, and an edited file is a new version, compiled once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relaydesk.cli import app
from relaydesk.escalation import tasks as _registers_the_kind  # noqa: F401
from relaydesk.escalation.phrases import PhraseRulesPolicy
from relaydesk.policies import PolicyError, get_policy, load_policy_dir
from tests.factories import copy_policies_with, write_policy

SHIPPED = Path("policies")
runner = CliRunner()


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "    en:\n",
            "    english:\n",
            r"phrase_rules.yaml:\d+: spec.packs: .*'english': not a lower-case ISO 639-1",
        ),
        (
            "      - name: chargeback\n",
            "      - name: legal_threat\n",
            r"phrase_rules.yaml:\d+: spec.packs: .*pack 'en': rule\(s\) \['legal_threat'\] defined twice",
        ),
        (
            "          - sue+\n",
            "          - '+sue'\n",
            r"spec.packs: .*rule 'legal_threat': .*'\+' goes at the end of a word",
        ),
        ("          - sue+\n", "          - 'su+e'\n", r"phrase 'su\+e': '\+' goes at the end of a word"),
        ("          - sue+\n", "          - 'to +'\n", r"phrase 'to \+': '\+' must follow a word"),
        ("          - sue+\n", "          - '!!!'\n", r"rule 'legal_threat': phrase '!!!' has no words"),
        (
            "priority_at_least: urgent, escalate_to: legal",
            "priority_at_least: asap, escalate_to: legal",
            r"phrase_rules.yaml:\d+: spec.packs.en.0.actions.priority_at_least: Input should be",
        ),
        (
            "escalate_to: legal",
            "escalate_to: court",
            r"phrase_rules.yaml:\d+: spec.packs.en.0.actions.escalate_to: Input should be",
        ),
        (
            "{flag: cancellation_risk, priority_at_least: high}",
            "{flag: Cancellation Risk}",
            r"phrase_rules.yaml:\d+: spec.packs.en.4.actions.flag: String should match pattern",
        ),
        (
            "{flag: cancellation_risk, priority_at_least: high}",
            "{freeze_bot: false}",
            r"spec.packs.en.4.actions: .*at least one action",
        ),
        ("        unless:\n", "        except:\n", r"spec.packs.en.0.except: Extra inputs are not permitted"),
    ],
)
def test_bad_phrase_rules_are_refused_naming_file_and_field(tmp_path, old, new, problem):
    with pytest.raises(PolicyError, match=problem):
        load_policy_dir(copy_policies_with(tmp_path, "phrase_rules.yaml", old, new))


def test_inflection_is_refused_for_a_language_without_it(tmp_path):
    folder = copy_policies_with(
        tmp_path,
        "phrase_rules.yaml",
        "    es:\n",
        "    de:\n      - name: legal_threat\n        phrases: [verklagen+]\n"
        "        actions: {flag: legal_threat}\n    es:\n",
    )
    with pytest.raises(PolicyError, match=r"pack 'de', rule 'legal_threat': inflection \('\+'\) exists for"):
        load_policy_dir(folder)


def test_policy_check_accepts_the_shipped_folder_and_names_a_bad_field(tmp_path):
    good = runner.invoke(app, ["policy", "check", str(SHIPPED)])
    assert good.exit_code == 0 and '"phrase_rules"' in good.output
    bad = runner.invoke(
        app,
        [
            "policy",
            "check",
            str(copy_policies_with(tmp_path, "phrase_rules.yaml", "escalate_to: legal", "escalate_to: x")),
        ],
    )
    assert bad.exit_code == 2 and re.search(
        r"phrase_rules.yaml:\d+: spec.packs.en.0.actions.escalate_to", bad.output
    )


RULES = """
kind: phrase_rules
spec:
  packs:
    en:
      - name: legal_threat
        phrases: [sue+]
        actions: {flag: legal_threat}
"""


def test_an_edit_is_a_new_version_compiled_once_and_a_bad_edit_keeps_the_last_good(tmp_path):
    path = tmp_path / "phrase_rules.yaml"
    write_policy(path, RULES)
    first = get_policy("phrase_rules", PhraseRulesPolicy, tmp_path)
    assert first is not None and first.version.startswith("sha256:")
    # Unchanged folder: the same compiled policy, not a recompiled one.
    assert get_policy("phrase_rules", PhraseRulesPolicy, tmp_path) is first
    assert [m.phrase for m in first.match("they sued")] == ["sue+"]

    write_policy(path, RULES.replace("[sue+]", "[sue+, lawyer]"))
    second = get_policy("phrase_rules", PhraseRulesPolicy, tmp_path)
    assert second is not None and second.version != first.version
    assert [m.phrase for m in second.match("my lawyer")] == ["lawyer"]

    write_policy(path, RULES.replace("[sue+]", "['+']"))
    assert get_policy("phrase_rules", PhraseRulesPolicy, tmp_path) is second
    # The same rules give the same version, whatever the comments or layout of the file.
    write_policy(path, "# a comment\n" + RULES.replace("[sue+]", "[sue+, lawyer]"))
    assert get_policy("phrase_rules", PhraseRulesPolicy, tmp_path).version == second.version
