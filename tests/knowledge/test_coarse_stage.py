"""The coarse first stage of large indexes picks the candidates that exact scoring of every row picks."""

from __future__ import annotations

import numpy as np
import pytest

from relaydesk.knowledge import index as knowledge_index
from relaydesk.knowledge.features import candidate_features
from relaydesk.knowledge.index import HybridIndex, IndexedArticle
from relaydesk.knowledge.text import tokenize

WORDS = [
    "password",
    "sync",
    "invoice",
    "refund",
    "calendar",
    "printer",
    "wifi",
    "export",
    "login",
    "photo",
    "backup",
    "share",
]


def _clustered_index(rng: np.random.Generator, articles: int) -> tuple[HybridIndex, np.ndarray]:
    """Articles whose passages lie around a few topics (as real embeddings do), some of them hidden."""
    topics = rng.standard_normal((12, 384)).astype(np.float32)
    items, vectors = [], {}
    for number in range(articles):
        topic = number % len(topics)
        passages = tuple(f"{WORDS[topic]} passage {number}-{p}" for p in range(int(rng.integers(1, 6))))
        title = f"{WORDS[topic]} question {number}"
        items.append(IndexedArticle(number + 1, title, "en", number % 7 != 0, passages, f"{title}\n{title}"))
        for text in (*passages, ""):
            vector = topics[topic] + 0.8 * rng.standard_normal(384).astype(np.float32)
            vectors[(title, text)] = vector / np.linalg.norm(vector)
    built = HybridIndex.build(items, vectors=lambda requests: [vectors[(t, p)] for _, t, p in requests])
    return built, topics


def test_coarse_stage_keeps_the_exact_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge_index, "COARSE_MIN_ARTICLES", 500)
    monkeypatch.setattr(knowledge_index, "COARSE_KEEP", 60)
    rng = np.random.default_rng(7)
    index, topics = _clustered_index(rng, 800)
    assert index.coarse is not None and index.coarse.shape == (128, len(index.passage_texts) + len(index))
    for public_only in (True, False):
        mask = index.visible_mask(public_only=public_only, locale=None)
        for number in range(40):
            query = topics[number % len(topics)] + 0.5 * rng.standard_normal(384).astype(np.float32)
            query /= np.linalg.norm(query)
            tokens = tokenize(f"{WORDS[number % len(WORDS)]} help")
            exact = index.candidates(index.dense_scores(query), tokens, mask, 10)
            coarse = index.search_candidates(query, tokens, mask, 10)
            assert [c.position for c in coarse] == [c.position for c in exact]
            assert [c.best_passage for c in coarse] == [c.best_passage for c in exact]
            assert np.array_equal(candidate_features(coarse), candidate_features(exact))
            assert all(mask[c.position] for c in coarse)


def test_small_indexes_score_every_row_exactly() -> None:
    index, _ = _clustered_index(np.random.default_rng(1), 50)
    assert index.coarse is None and index.coarse_basis is None
