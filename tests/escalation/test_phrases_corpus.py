"""The shipped phrase packs against a corpus of true and false matches (phrase_corpus.yaml): precision
and recall over (text, rule) pairs must both be 1.0, per language, with and without the language known."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from relaydesk.escalation import tasks as _registers_the_kind  # noqa: F401
from relaydesk.escalation.phrases import PhraseRulesPolicy, inflections
from relaydesk.policies import load_policy_dir

CORPUS = yaml.safe_load((Path(__file__).parent / "phrase_corpus.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shipped() -> PhraseRulesPolicy:
    policy = load_policy_dir(Path("policies"))["phrase_rules"]
    assert isinstance(policy, PhraseRulesPolicy)
    return policy


def _fired(policy: PhraseRulesPolicy, text: str, language: str | None) -> set[str]:
    return {m.rule.name for m in policy.match(text, language)}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("known", [True, False], ids=["language_known", "every_pack"])
def test_precision_and_recall_are_one_on_the_corpus(shipped, language, known):
    entries = CORPUS[language]
    assert len(entries) >= 25 and sum(1 for e in entries if not e["rules"]) >= 10  # both kinds, many
    true_pos = false_pos = false_neg = 0
    wrong = []
    for entry in entries:
        fired = _fired(shipped, entry["text"], language if known else None)
        expected = set(entry["rules"])
        true_pos += len(fired & expected)
        false_pos += len(fired - expected)
        false_neg += len(expected - fired)
        if fired != expected:
            wrong.append((entry["text"], sorted(fired), sorted(expected)))
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    assert (precision, recall) == (1.0, 1.0), wrong


@pytest.mark.parametrize("entry", CORPUS["limits"], ids=lambda e: e["text"][:40])
def test_documented_limits_hold(shipped, entry):
    assert _fired(shipped, entry["text"], entry["language"]) == set(entry["rules"])


def test_every_shipped_rule_is_exercised_by_the_corpus(shipped):
    for language, rules in shipped.packs.items():
        fired = {rule for entry in CORPUS[language] for rule in entry["rules"]}
        assert {r.name for r in rules} <= fired, language


def test_a_match_names_the_rule_phrase_words_and_language(shipped):
    [match] = shipped.match("Honestly, we're SUING you.")
    assert (match.rule.name, match.phrase, match.matched, match.language) == (
        "legal_threat",
        "sue+",
        "suing",
        "en",
    )
    assert match.rule.actions.escalate_to == "legal" and match.rule.actions.freeze_bot


@pytest.mark.parametrize(
    ("language", "word", "forms", "not_forms"),
    [
        ("en", "sue", {"sue", "sues", "sued", "suing"}, {"pursue", "issue"}),
        ("en", "cancel", {"cancels", "cancelled", "canceled", "cancelling", "canceling"}, {"cancellation"}),
        ("en", "reply", {"replies", "replied", "replying"}, set()),
        (
            "es",
            "demandar",
            {"demando", "demanda", "demandare", "demandaron", "demandarlos", "demandandote"},
            set(),
        ),
        ("es", "denunciar", {"denuncie", "denuncio", "denunciare", "denunciado"}, set()),
        ("es", "abogado", {"abogado", "abogados"}, {"abogar"}),
        ("es", "Demandaré", {"demandare"}, set()),
    ],
)
def test_simple_inflection(language, word, forms, not_forms):
    generated = inflections(language, word)
    assert forms <= generated and not (not_forms & generated)


def test_a_long_message_is_one_pass_over_its_words(shipped):
    # 100,000 words of ordinary text with one threat at the end: found, and nothing else.
    text = "the parcel arrived late but the jacket fits well " * 11_111 + "my lawyer will call"
    assert [m.rule.name for m in shipped.match(text)] == ["legal_threat"]
