"""How urgency, impact, service, tier and sentiment combine into a priority (the shipped policy)."""

from pathlib import Path

from relaydesk.policies import load_policy_dir
from relaydesk.triage.impact import Impact
from relaydesk.triage.service import decide_priority

POLICY = load_policy_dir(Path("policies"))["triage"]


def _priority(urgency=None, customers=0, services=(), raise_by=0, tier="standard", sentiment="neutral"):
    return decide_priority(
        POLICY, urgency, Impact(similar_customers=customers), list(services), raise_by, tier, sentiment
    )


def test_nothing_known_gives_the_default():
    assert _priority() == ("normal", ["urgency normal (policy default)"])


def test_predicted_urgency_is_raised_by_impact_and_capped_at_urgent():
    assert _priority("low", customers=3)[0] == "normal"
    assert _priority("normal", customers=10)[0] == "urgent"
    priority, reasons = _priority("high", customers=12, services=["payments"], raise_by=1)
    assert priority == "urgent" and len(reasons) == 3
    assert "12 other customer(s) reported the same problem in the last 120 minutes" in reasons[1]


def test_vip_customers_are_at_least_high_and_premium_changes_nothing():
    assert _priority("low", tier="vip") == (
        "high",
        ["urgency low (predicted)", "+1: vip customer", "at least high for vip customers"],
    )
    assert _priority("high", tier="vip")[0] == "urgent"
    assert _priority("low", tier="premium")[0] == "low"


def test_negative_sentiment_only_counts_when_the_policy_says_so():
    assert _priority(sentiment="negative")[0] == "normal"  # shipped policy: recorded, not raised
    angry = POLICY.model_copy(update={"sentiment": POLICY.sentiment.model_copy(update={"raise_priority": 1})})
    assert decide_priority(angry, None, Impact(), [], 0, "standard", "negative")[0] == "high"
