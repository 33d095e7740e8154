"""Search answers the same whether its query encoder was exported in this process or read back from
the encoder cache that a restart uses (``relaydesk.ml.embeddings.use_encoder_cache``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from relaydesk.db import Database
from relaydesk.knowledge import service
from relaydesk.ml.embeddings import _onnx_encoder, default_model_path, load_onnx_encoder, use_encoder_cache
from tests.knowledge.conftest import DATA

QUERIES = [json.loads(line)["query"] for line in (DATA / "dev_queries.jsonl").read_text().splitlines()[:40]]


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("encoder-cache")
    assert load_onnx_encoder(cache_folder=folder) is not None  # exported and written
    return folder


@pytest.fixture
def cache_off() -> Iterator[None]:
    use_encoder_cache(None)
    yield
    use_encoder_cache(None)


def _answers(database: Database) -> list[tuple[bool, list[tuple[int, float, str]]]]:
    with database.transaction(read_only=True) as session:
        results = [service.search(session, query, limit=3) for query in [*QUERIES, "retrun my bots"]]
    return [(r.abstained, [(s.article_id, s.score, s.snippet) for s in r.suggestions]) for r in results]


@pytest.mark.usefixtures("cache_off")
def test_search_is_the_same_with_the_cached_encoder(
    database: Database, faq: dict[str, int], encoder_cache: Path
) -> None:
    exported = _answers(database)
    use_encoder_cache(encoder_cache)
    cached = _answers(database)
    encoder = _onnx_encoder(str(default_model_path()), False, encoder_cache)
    assert encoder is not None and encoder.source == "cache"  # the searches above ran on it
    assert [a for a, _ in cached] == [a for a, _ in exported]
    for (_, ours), (_, theirs) in zip(cached, exported, strict=True):
        assert [(i, s) for i, _, s in ours] == [(i, s) for i, _, s in theirs]
        assert [score for _, score, _ in ours] == pytest.approx([score for _, score, _ in theirs], abs=1e-6)
    assert any(not abstained for abstained, _ in exported)  # the comparison covers real answers
