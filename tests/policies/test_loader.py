import os
import time

import pytest

from relaydesk.policies import PolicyError, get_policy, load_policy_dir
from relaydesk.triage.policy import RequiredFieldsPolicy

GOOD = """
kind: required_fields
spec:
  fields:
    order_number: {label: order number, question: "Your order number?", pattern: '(\\d{10})'}
  categories:
    shipping_issue: [order_number]
"""


def _write(path, text):
    path.write_text(text)
    # Make sure the change is visible to the mtime check even on coarse file systems.
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


def test_shipped_policies_are_valid():
    assert "required_fields" in load_policy_dir(__import__("pathlib").Path("policies"))


def test_bad_field_is_reported_with_the_file_and_the_path(tmp_path):
    _write(tmp_path / "fields.yaml", GOOD.replace("[order_number]", "[order_number, serial]"))
    with pytest.raises(PolicyError, match=r"fields.yaml:\d+: .*undefined field\(s\) \['serial'\]"):
        load_policy_dir(tmp_path)


def test_bad_regular_expression_is_refused(tmp_path):
    _write(tmp_path / "fields.yaml", GOOD.replace("'(\\d{10})'", "'(\\d{10}'"))
    with pytest.raises(PolicyError, match=r"spec\.fields\.order_number\.pattern"):
        load_policy_dir(tmp_path)


def test_unknown_kind_names_the_known_ones(tmp_path):
    _write(tmp_path / "x.yaml", "kind: nonsense\nspec: {}\n")
    with pytest.raises(PolicyError, match=r"known kinds: .*required_fields"):
        load_policy_dir(tmp_path, strict=True)
    # A process that never imported the kind's module cannot ask for it, so it is not in its way.
    assert load_policy_dir(tmp_path) == {}


def test_change_is_picked_up_and_a_bad_edit_keeps_the_last_good_version(tmp_path):
    path = tmp_path / "fields.yaml"
    _write(path, GOOD)
    first = get_policy("required_fields", RequiredFieldsPolicy, tmp_path)
    assert first is not None and first.categories == {"shipping_issue": ["order_number"]}
    _write(path, GOOD.replace("shipping_issue", "order_issue"))
    assert get_policy("required_fields", RequiredFieldsPolicy, tmp_path).categories == {
        "order_issue": ["order_number"]
    }
    _write(path, "kind: required_fields\nspec: {fields: 3}\n")
    assert get_policy("required_fields", RequiredFieldsPolicy, tmp_path).categories == {
        "order_issue": ["order_number"]
    }
