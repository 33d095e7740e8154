"""What ``kb evaluate`` and ``kb calibrate`` report: the ranking and the abstention measured apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from relaydesk.knowledge import service
from relaydesk.knowledge.calibration import default_calibration, outcome
from relaydesk.knowledge.evaluation import LabeledQuery, evaluate


def test_an_abstention_is_not_a_ranking_miss_but_is_a_miss_for_what_the_customer_sees():
    ranked = [
        np.array([True, False, False]),  # answerable, right article first, shown
        np.array([True, False, False]),  # answerable, right article first, but search abstained
        np.array([False, False, True]),  # answerable, right article third, shown
        np.array([False, False, False]),  # unanswerable, abstained
        np.array([False, False, False]),  # unanswerable, suggested anyway
    ]
    result = outcome([False, True, False, True, False], ranked, [True, True, True, False, False])
    assert result.answerable_p_at_1 == 2 / 3 and result.answerable_recall_at_3 == 1.0
    assert np.isclose(result.mrr, (1 + 1 + 1 / 3) / 3)
    assert result.false_abstain_rate == 1 / 3 and result.unanswerable_abstain_rate == 0.5
    assert result.shown_p_at_1 == 1 / 3 and result.shown_recall_at_3 == 2 / 3
    assert np.isclose(result.shown_mrr, (1 + 1 / 3) / 3)
    assert result.n == 5


def test_recall_at_3_counts_only_the_suggestions_shown_after_the_floor():
    ranked = [np.array([False, False, True])]
    assert outcome([False], ranked, [True], shown=[3]).answerable_recall_at_3 == 1.0
    assert outcome([False], ranked, [True], shown=[2]).answerable_recall_at_3 == 0.0


def test_evaluate_scores_the_ranking_an_abstention_hid_and_counts_it_as_a_miss_shown(database, faq):
    strict = replace(default_calibration(), threshold=1.01)  # search abstains on everything
    with database.transaction() as session:
        service.store_calibration(session, strict)
    queries = [
        LabeledQuery("how can I remove my facebook profile for good?", "faq-001", 1),
        LabeledQuery("what is the boiling point of water on mount everest", None, 2),
    ]
    try:
        with database.transaction(read_only=True) as session:
            metrics = evaluate(session, queries)
    finally:
        with database.transaction() as session:
            service.store_calibration(session, None)
    assert metrics["answerable_p_at_1"] == 1.0 and metrics["mrr"] == 1.0
    assert metrics["false_abstain_rate"] == 1.0 and metrics["unanswerable_abstain_rate"] == 1.0
    assert metrics["shown_p_at_1"] == 0.0 and metrics["shown_recall_at_3"] == 0.0
