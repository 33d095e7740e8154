"""The sla and business_hours policy kinds: first match wins, a default last, named calendars."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from relaydesk.customers.enums import CustomerTier
from relaydesk.policies import PolicyError, load_policy_dir, load_policy_files
from relaydesk.sla.policy import SlaPolicy, TicketFacts
from relaydesk.tickets.enums import Channel, EscalationLevel, Priority

SHIPPED = Path("policies")


def _facts(**overrides: object) -> TicketFacts:
    base: dict[str, object] = {
        "priority": Priority.NORMAL,
        "channel": Channel.EMAIL,
        "tier": CustomerTier.STANDARD,
        "team": None,
        "category": None,
        "escalation_level": EscalationLevel.FRONTLINE,
    }
    return TicketFacts(**{**base, **overrides})  # type: ignore[arg-type]


def _shipped_sla() -> SlaPolicy:
    policy = load_policy_dir(SHIPPED)["sla"]
    assert isinstance(policy, SlaPolicy)
    return policy


@pytest.mark.parametrize(
    ("facts", "name"),
    [
        ({}, "default"),
        ({"priority": Priority.HIGH}, "high"),
        ({"tier": CustomerTier.VIP, "channel": Channel.WEB_CHAT}, "vip_live"),
        ({"tier": CustomerTier.VIP, "channel": Channel.EMAIL}, "vip"),
        ({"tier": CustomerTier.VIP, "priority": Priority.URGENT}, "urgent"),
        ({"escalation_level": EscalationLevel.LEGAL, "tier": CustomerTier.VIP}, "legal"),
        ({"channel": Channel.IN_APP}, "live_chat"),
    ],
)
def test_the_first_matching_entry_decides_and_the_default_is_last(facts, name):
    assert _shipped_sla().entry_for(_facts(**facts)).name == name


def _copy_policies(tmp_path: Path, filename: str, old: str, new: str) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(SHIPPED, folder)
    path = folder / filename
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return folder


def _line_of(folder: Path, filename: str, needle: str) -> int:
    lines = (folder / filename).read_text().splitlines()
    return next(number for number, text in enumerate(lines, 1) if needle in text)


def test_a_bad_duration_names_the_file_the_line_and_the_field(tmp_path):
    folder = _copy_policies(tmp_path, "sla.yaml", "first_response: 15m", "first_response: soon")
    line = _line_of(folder, "sla.yaml", "first_response: soon")
    with pytest.raises(
        PolicyError, match=rf"sla.yaml:{line}: spec.policies.2.targets.first_response: .*'30m'"
    ):
        load_policy_dir(folder)


def test_a_default_that_is_not_last_is_refused(tmp_path):
    folder = _copy_policies(tmp_path, "sla.yaml", "match: {priority: [high]}\n", "\n")
    with pytest.raises(PolicyError, match=r"policy 'high' matches everything; only the last one may"):
        load_policy_dir(folder)


def test_an_unknown_calendar_is_refused_naming_the_known_ones(tmp_path):
    folder = _copy_policies(tmp_path, "sla.yaml", "calendar: around_the_clock", "calendar: nights")
    with pytest.raises(
        PolicyError, match=r"'nights' is not a calendar of business_hours \(known: around_the_clock"
    ):
        load_policy_dir(folder)


def test_each_file_has_a_version_that_changes_with_its_text(tmp_path):
    before = load_policy_files(SHIPPED)
    folder = _copy_policies(tmp_path, "sla.yaml", "at_risk_share: 0.75", "at_risk_share: 0.8")
    after = load_policy_files(folder)
    assert after["sla"].version != before["sla"].version
    assert after["business_hours"].version == before["business_hours"].version
    assert len(before["sla"].version) == 12
