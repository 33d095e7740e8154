"""An article's questions (other ways customers ask it): the questions model that reads them, how
``fit`` learns it from labelled queries without letting a query see itself, and ``kb calibrate``'s
learning of them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from relaydesk.knowledge import service
from relaydesk.knowledge.calibration import (
    Calibration,
    QueryFeatures,
    QuestionMatch,
    default_calibration,
    fit,
    shown_count,
)
from relaydesk.knowledge.evaluation import LabeledQuery, evaluate
from relaydesk.knowledge.features import FEATURE_NAMES
from relaydesk.knowledge.schemas import ArticleUpdate
from relaydesk.knowledge.text import question_key
from tests.knowledge.conftest import EDITOR, add_article

GIFT_CARDS = "Gift cards never expire and can be used for any order in the store."
OLD_VOUCHER = "can I still use the voucher my aunt gave me three years ago"


def _set_questions(database, article_id: int, questions: list[str]) -> None:
    with database.transaction() as session:
        article = service.get_article(session, article_id)
        service.update_article(session, article, ArticleUpdate(questions=questions), EDITOR)


def test_a_customers_phrasing_far_from_the_article_is_found_through_its_questions(database, faq):
    gift = add_article(database, "Gift cards", GIFT_CARDS)
    with database.transaction(read_only=True) as session:
        before = service.search(session, OLD_VOUCHER)
    assert before.abstained  # nothing in the article's words says "voucher" or "aunt"

    _set_questions(database, gift, ["my voucher is old, can I still use it?", "do vouchers run out"])
    with database.transaction(read_only=True) as session:
        after = service.search(session, OLD_VOUCHER)
        unrelated = service.search(session, "what is the boiling point of water on mount everest")
        facebook = service.search(session, "how can I remove my facebook profile for good?")
    assert not after.abstained and after.suggestions[0].article_id == gift
    assert after.suggestions[0].score > 0.9
    assert "voucher" not in after.suggestions[0].snippet  # a question is matched, never shown
    assert unrelated.abstained  # an article with questions does not pull in what they do not ask
    assert facebook.suggestions[0].article_id == faq["faq-001"]  # articles without questions as before


def test_leaving_a_query_out_of_the_questions_scores_it_as_a_new_phrasing(database, faq):
    gift = add_article(database, "Gift cards", GIFT_CARDS)
    _set_questions(database, gift, ["do vouchers run out"])
    with database.transaction(read_only=True) as session:
        without_copy = service.search(session, OLD_VOUCHER, keep_withheld=True)
    _set_questions(database, gift, ["do vouchers run out", OLD_VOUCHER.upper()])
    with database.transaction(read_only=True) as session:
        with_copy = service.search(session, OLD_VOUCHER, keep_withheld=True)
        left_out = service.search(
            session, OLD_VOUCHER, keep_withheld=True, leave_out_question=question_key(OLD_VOUCHER)
        )
        metrics = evaluate(session, [LabeledQuery(OLD_VOUCHER, None, 1)])
    scores = [(r.suggestions or r.withheld)[0].score for r in (without_copy, with_copy, left_out)]
    assert scores[1] > scores[0] and scores[2] == scores[0]
    assert metrics["questions_left_out"] == 1


def test_learnt_questions_are_added_once_each_with_a_version_and_reach_the_index(database, faq):
    article_id = faq["faq-001"]
    _set_questions(database, article_id, ["Deleting FB acc."])
    with database.transaction() as session:
        learnt = service.learn_questions(
            session,
            [
                (article_id, "deleting  fb ACC."),  # the one it has, spaced and cased differently
                (article_id, "make my facebook disappear"),
                (article_id, "make my Facebook disappear"),
                (article_id, "x" * 301),
                (faq["faq-000"], "strike through words on github"),
            ],
            service.Editor(label="calibrate:dev.jsonl"),
        )
    assert (learnt.added, learnt.articles, learnt.skipped) == (2, 2, 1)
    with database.transaction(read_only=True) as session:
        article = service.get_article(session, article_id)
        assert article.questions == ["Deleting FB acc.", "make my facebook disappear"]
        latest = service.list_versions(session, article)[-1]
        assert (latest.change, latest.editor, latest.questions) == (
            "learnt",
            "calibrate:dev.jsonl",
            article.questions,
        )
        assert question_key("strike through words on github") in service.search_index(session).question_keys


def _synthetic(count: int, rng: np.random.Generator, *, per_article: int) -> list[QueryFeatures]:
    """Queries over ten articles whose base features cannot tell answerable from unanswerable ones,
    while their vectors can: an answerable query lies near its article's other queries."""
    centres = rng.normal(size=(10, 16))
    samples = []
    for i in range(count):
        answerable = i % 5 != 0
        article = (i // per_article) % 10 if answerable else None
        vector = rng.normal(size=16) + (4.0 * centres[article] if article is not None else 0.0)
        features = rng.normal(0.0, 0.05, size=(4, len(FEATURE_NAMES)))
        candidates = (article if article is not None else int(rng.integers(10)), *rng.choice(10, 3))
        features[0] += 1.0  # the first candidate leads, right or not
        samples.append(
            QueryFeatures(
                features=features,
                labels=np.array([answerable, False, False, False]) & (np.arange(4) == 0),
                answerable=answerable,
                key=f"query {i}",
                vector=vector,
                article=article,
                candidate_articles=tuple(int(c) for c in candidates),
            )
        )
    return samples


def test_fit_learns_the_questions_model_from_the_other_folds_queries_and_reports_both():
    samples = _synthetic(200, np.random.default_rng(0), per_article=4)
    calibration = fit(samples)
    assert calibration.questions is not None
    assert calibration.questions.feature_names == (*FEATURE_NAMES, "question_best")
    with_questions = calibration.meta["cross_validated"]["unanswerable_abstain_rate"]
    without = calibration.meta["cross_validated_without_questions"]["unanswerable_abstain_rate"]
    assert with_questions > 0.9 and without < 0.3
    assert calibration.meta["cross_validated"]["false_abstain_rate"] <= 0.05
    assert Calibration.from_dict(calibration.to_dict()) == calibration
    assert calibration.fitted_questions == {s.key for s in samples if s.answerable}
    assert fit(samples, questions=False).questions is None


def test_fit_never_counts_a_query_or_a_stored_copy_of_one_as_its_own_question():
    # One answerable query per article and key: the only question each could match is itself.
    # An unanswerable query's leading candidate is one of those articles (whose question it can match).
    rng = np.random.default_rng(1)
    samples = _synthetic(200, rng, per_article=1)
    samples = [
        replace(
            s,
            article=1000 + i if s.answerable else None,
            candidate_articles=(1000 + (i if s.answerable else i + 1), *s.candidate_articles[1:]),
        )
        for i, s in enumerate(samples)
    ]
    copies = [
        replace(s, stored_questions=((np.array([1.0], np.float32), (s.key,)),) * len(s.labels))
        for s in samples
    ]
    assert fit(samples).questions is None
    assert fit(copies).questions is None
    # A question an editor wrote (not a labelled query) does count.
    written = [
        replace(s, stored_questions=((np.array([0.95 if s.answerable else 0.1], np.float32), ("w",)),) * 4)
        for s in samples
    ]
    assert fit(written).questions is not None


def test_the_questions_model_reads_its_own_kind_of_question_both_ways_and_any_other_only_upwards():
    base = default_calibration()
    assert base.questions is not None and base.fitted_questions
    features = np.tile(np.array(base.mean), (3, 1))
    none = np.full(3, np.nan)
    best = np.array([np.nan, 0.95, 0.1])
    plain = base.probabilities(features)
    fitted = base.probabilities(features, QuestionMatch(best, none))
    other = base.probabilities(features, QuestionMatch(none, best))
    assert fitted[0] == pytest.approx(plain[0]) and other[0] == pytest.approx(plain[0])
    assert fitted[1] > plain[1] and other[1] == pytest.approx(fitted[1])  # a close question raises it
    assert fitted[2] < plain[2]  # far from every question like those it was fitted with: lowered
    assert other[2] == pytest.approx(plain[2])  # far from an editor's few questions: never lowered
    assert list(base.by_questions(QuestionMatch(none, best))) == [False, True, True]
    assert list(replace(base, questions=None).by_questions(QuestionMatch(best, none))) == [False] * 3


def test_a_question_match_keeps_the_fitted_kind_apart():
    similarities = [
        (np.array([0.9, 0.4], np.float32), ["learnt one", "written one"]),
        (np.array([0.7], np.float32), ["written two"]),
        (np.zeros(0, np.float32), []),
    ]
    match = QuestionMatch.split(similarities, frozenset({"learnt one"}))
    assert np.allclose(match.fitted, [0.9, np.nan, np.nan], equal_nan=True)
    assert np.allclose(match.other, [0.4, 0.7, np.nan], equal_nan=True)


def test_the_suggestion_list_stops_at_the_first_under_its_models_floor():
    ranked = np.array([0.9, 0.004, 0.003])
    assert shown_count(ranked, 0.005) == 1
    assert shown_count(ranked, np.array([0.0, 0.005, 0.001])) == 1
    assert shown_count(ranked, np.array([0.0, 0.001, 0.001])) == 3
