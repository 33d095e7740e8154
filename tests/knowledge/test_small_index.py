"""An index below COARSE_MIN_ARTICLES scores in numpy float32 and never imports torch; a large one
keeps torch's half-precision product. Both pick the same articles."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from relaydesk.knowledge import index as knowledge_index
from relaydesk.knowledge.text import tokenize
from tests.knowledge.test_coarse_stage import WORDS, _clustered_index


def test_a_small_index_scores_in_float32_and_picks_what_the_half_precision_product_picks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small, topics = _clustered_index(np.random.default_rng(3), 150)
    monkeypatch.setattr(knowledge_index, "COARSE_MIN_ARTICLES", 100)
    large, _ = _clustered_index(np.random.default_rng(3), 150)  # the same articles and vectors
    assert not small.on_torch and large.on_torch
    assert small.dense.dtype == np.float32
    assert np.allclose(small.dense_matrix(), large.dense_matrix(), atol=1e-3)
    rng = np.random.default_rng(11)
    same_first = 0
    for number in range(40):
        query = topics[number % len(topics)] + 0.5 * rng.standard_normal(384).astype(np.float32)
        query /= np.linalg.norm(query)
        exact = small.dense_matrix() @ query
        assert np.allclose(small.dense_scores(query), exact, atol=1e-5)
        assert np.allclose(large.dense_scores(query), exact, atol=3e-3)  # float16 keeps ~3 decimals
        tokens = tokenize(f"{WORDS[number % len(WORDS)]} help")
        mask = small.visible_mask(public_only=True, locale=None)
        ours = small.search_candidates(query, tokens, mask, 10)
        theirs = large.search_candidates(query, tokens, mask, 10)
        # The same articles, ranked alike up to the near-ties that float16 rounding may swap.
        assert len({c.position for c in ours} & {c.position for c in theirs}) >= 9
        for mine in ours:
            other = next((c for c in theirs if c.position == mine.position), None)
            assert other is None or abs(other.dense_best - mine.dense_best) < 3e-3
        same_first += ours[0].position == theirs[0].position
    assert same_first >= 36, same_first


def test_searching_a_small_index_never_imports_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from relaydesk.knowledge.text import tokenize
        from tests.knowledge.test_coarse_stage import _clustered_index

        index, topics = _clustered_index(np.random.default_rng(5), 60)
        mask = index.visible_mask(public_only=False, locale=None)
        found = index.search_candidates(topics[0], tokenize("password help"), mask, 5)
        print(len(found), "torch" in sys.modules)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "False"]
