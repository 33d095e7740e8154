"""Fine-tuning the top layers of the bundled all-MiniLM-L6-v2 for one classifier.

The frozen encoder's sentence embedding carries what all-MiniLM-L6-v2 learnt in general; retraining
its top layers on the organisation's labels makes it separate *their* classes (BANKING77's
``card_arrival`` from ``card_delivery_estimate``). To fit the CPU budget, the lower layers stay frozen:
one forward pass over the training texts gives both the frozen sentence embedding (for the linear
model) and every text's hidden states after the last frozen layer, which the trainable top layers then
read epoch after epoch without recomputing the bottom of the network.

``encode`` runs that shared forward pass; ``fine_tune`` trains a ``TopLayers`` (a copy of the top
layers plus a linear head over their mean-pooled output) on the cached states; ``TopLayers.logits``
scores texts. A fitted ``TopLayers`` is saved beside the linear model (``encoder_top.pt``, half
precision).
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from relaydesk.ml.embeddings import encode_one, load_embedder, onnx_session, query_encoder, to_onnx

__all__ = [
    "Encoded",
    "FineTuneOptions",
    "TopLayers",
    "encode",
    "fine_tune",
    "load_top_layers",
    "seconds_per_epoch",
]

FloatArray = npt.NDArray[np.float64]
_ENCODE_BATCH = 64
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[int, str], tuple[npt.NDArray[np.float32], Any]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class FineTuneOptions:
    layers: int = 4  # top transformer layers retrained (of 6); the rest stay frozen
    epochs: float = 3.0  # passes over the data; a fraction trains on that share of one more pass
    batch_size: int = 32
    # The transformer layers. 3e-4 rather than 1e-4, chosen on an 85 / 15 split of BANKING77's train.csv
    # (docs/benchmarks.md): SVM + fine-tuned 0.942 / 0.941 over two seeds against 0.940 / 0.937.
    learning_rate: float = 3e-4
    head_learning_rate: float = 3e-3  # the new linear head
    label_smoothing: float = 0.1
    seed: int = 0


@dataclass
class Encoded:
    """The shared forward pass over some texts."""

    embeddings: npt.NDArray[np.float32]  # the frozen sentence embedding (L2-normalised), one row per text
    states: list[Any]  # per text: its hidden states after the last frozen layer (tokens x 384, float16)


def _model() -> Any:
    return load_embedder()


def _split_layer(layers: int) -> int:
    total = int(_model()[0].auto_model.config.num_hidden_layers)
    if not 1 <= layers <= total:
        raise ValueError(f"fine-tuned layers must be between 1 and {total}, not {layers}")
    return total - layers


def encode(texts: Sequence[str], layers: int) -> Encoded:
    """One frozen forward pass: sentence embeddings and the states the top ``layers`` layers read.

    Single texts (a prediction) are cached by text, so the heads of one ticket share one pass.
    """
    import torch  # seconds to import: loaded on first use, not with relaydesk

    split = _split_layer(layers)
    if len(texts) == 1:
        key = (split, texts[0])
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return Encoded(hit[0][None, :], [hit[1]])
        # A prediction on a request's path: the single-text encoder (ONNX Runtime, ``ml.embeddings``).
        one = encode_one(texts[0])
        state = torch.from_numpy(one.hidden_states[split])
        with _cache_lock:
            _cache[(split, texts[0])] = (one.vector, state)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return Encoded(one.vector[None, :], [state])
    return Encoded(*_encode_batches(texts, split))


def _encode_batches(texts: Sequence[str], split: int) -> tuple[npt.NDArray[np.float32], list[Any]]:
    """Many texts through the shared torch model, in batches of similar length (little padding)."""
    import torch  # seconds to import: loaded on first use, not with relaydesk

    model = _model()
    tokenizer, bert = model.tokenizer, model[0].auto_model
    embeddings = np.zeros((len(texts), bert.config.hidden_size), dtype=np.float32)
    states: list[Any] = [None] * len(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), _ENCODE_BATCH):
            index = order[start : start + _ENCODE_BATCH]
            batch = tokenizer(
                [texts[i] for i in index],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_tensors="pt",
            )
            hidden = bert(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"]
            pooled = _mean_pool(hidden[-1].float(), mask)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
            embeddings[index] = pooled.numpy()
            lengths = mask.sum(dim=1).tolist()
            for row, i in enumerate(index):
                states[int(i)] = hidden[split][row, : int(lengths[row])].to(torch.float16).clone()
    return embeddings, states


def _mean_pool(hidden: Any, mask: Any) -> Any:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _pad(states: Sequence[Any]) -> tuple[Any, Any]:
    import torch  # seconds to import: loaded on first use, not with relaydesk

    longest = max(int(s.shape[0]) for s in states)
    hidden = torch.zeros(len(states), longest, int(states[0].shape[1]), dtype=torch.float32)
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : s.shape[0]] = s.to(torch.float32)
        mask[row, : s.shape[0]] = 1
    return hidden, mask


def _as_module(top: TopLayers) -> Any:
    """``top`` as a torch module (states, mask -> logits), with frozen weights, for the ONNX export."""
    import torch  # seconds to import: loaded on first use, not with relaydesk

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers, self.head = top.layers, top.head
            for parameter in self.parameters():
                parameter.requires_grad_(False)

        def forward(self, hidden: Any, mask: Any) -> Any:
            return top._forward(hidden, mask)

    return Forward().eval()


class TopLayers:
    """The retrained top layers of the encoder and a linear head: states -> class logits."""

    def __init__(self, layers: Any, head: Any) -> None:
        self.layers = layers  # torch.nn.ModuleList
        self.head = head  # torch.nn.Linear
        self._session: Any = None  # the same layers in ONNX Runtime, for one text (built on first use)
        self._session_lock = threading.Lock()

    def _onnx_session(self) -> Any:
        """These layers exported to ONNX and loaded in ONNX Runtime (in memory, once per model)."""
        with self._session_lock:
            if self._session is None:
                self._session = onnx_session(self._export())
            return self._session

    def _export(self) -> bytes:
        import torch  # seconds to import: loaded on first use, not with relaydesk

        example = (torch.zeros(1, 3, int(self.head.in_features)), torch.ones(1, 3, dtype=torch.long))
        return to_onnx(_as_module(self), example, ["hidden", "mask"], ["logits"], {0: "batch"})

    def _forward(self, hidden: Any, mask: Any) -> Any:
        import torch  # seconds to import: loaded on first use, not with relaydesk

        # The additive attention mask every BERT attention implementation accepts: 0 keeps a token,
        # the most negative float hides padding.
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=additive)
            if isinstance(hidden, tuple):  # older transformers return (hidden, ...)
                hidden = hidden[0]
        return self.head(_mean_pool(hidden, mask))

    def logits(self, states: Sequence[Any], batch_size: int = 128) -> FloatArray:
        """Class logits; one text runs in ONNX Runtime where the single-text encoder does (see ``encode``)."""
        import torch  # seconds to import: loaded on first use, not with relaydesk

        if len(states) == 1 and query_encoder() == "onnx":
            hidden = states[0].to(torch.float32).numpy()[None, :, :]
            mask = np.ones(hidden.shape[:2], dtype=np.int64)
            result: FloatArray = self._onnx_session().run(None, {"hidden": hidden, "mask": mask})[0]
            return result.astype(np.float64)
        self.layers.eval()
        out = np.zeros((len(states), int(self.head.out_features)), dtype=np.float64)
        order = np.argsort([int(s.shape[0]) for s in states], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(states), batch_size):
                index = order[start : start + batch_size]
                hidden, mask = _pad([states[i] for i in index])
                out[index] = self._forward(hidden, mask).numpy()
        return out

    def save(self, path: Path) -> None:
        import torch  # seconds to import: loaded on first use, not with relaydesk

        state = {
            "layers": {k: v.to(torch.float16) for k, v in self.layers.state_dict().items()},
            "head": self.head.state_dict(),
            "count": len(self.layers),
        }
        torch.save(state, path)


def load_top_layers(path: Path) -> TopLayers:
    import torch  # seconds to import: loaded on first use, not with relaydesk

    state = torch.load(path, map_location="cpu", weights_only=True)
    top = _new_top_layers(int(state["count"]), int(state["head"]["weight"].shape[0]))
    top.layers.load_state_dict({k: v.to(torch.float32) for k, v in state["layers"].items()})
    top.head.load_state_dict(state["head"])
    top.layers.eval()
    return top


def _batches(states: Sequence[Any], batch_size: int) -> list[npt.NDArray[np.intp]]:
    """Batches of similar length (little padding)."""
    order = np.argsort([int(s.shape[0]) for s in states], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _new_top_layers(layers: int, classes: int) -> TopLayers:
    import torch  # seconds to import: loaded on first use, not with relaydesk

    split = _split_layer(layers)
    hidden_size = int(_model()[0].auto_model.config.hidden_size)
    return TopLayers(
        copy.deepcopy(_model()[0].auto_model.encoder.layer[split:]), torch.nn.Linear(hidden_size, classes)
    )


def seconds_per_epoch(states: Sequence[Any], layers: int, batch_size: int = 32, probes: int = 6) -> float:
    """Estimated CPU seconds of one fine-tuning pass over ``states``, from a few timed training steps.

    The cost of a step grows with its tokens, so the probes' seconds per token are scaled to all the
    tokens; it lets training fit its fine-tuning to a time budget on whatever CPU it runs on.
    """
    batches = _batches(states, batch_size)
    # A first step warms the allocator and the kernels up (untimed); a single batch is timed as it is.
    picked = np.random.default_rng(0).choice(len(batches), size=min(probes + 1, len(batches)), replace=False)
    if len(picked) == 1:
        picked = np.repeat(picked, 2)
    top = _new_top_layers(layers, 2)
    top.layers.train()
    elapsed, tokens = 0.0, 0
    for number, b in enumerate(picked):
        hidden, mask = _pad([states[i] for i in batches[b]])
        started = time.perf_counter()
        top._forward(hidden, mask).sum().backward()  # type: ignore[no-untyped-call]
        if number:
            elapsed += time.perf_counter() - started
            tokens += int(hidden.shape[0] * hidden.shape[1])
    padded = sum(len(b) * max(int(states[i].shape[0]) for i in b) for b in batches)
    # The optimiser step and bookkeeping come on top of forward and backward: ~10 % (BANKING77 on the
    # 2-core EPYC VM: 85 s per epoch estimated, 79-88 s per epoch run).
    return 1.1 * elapsed / max(1, tokens) * padded


def fine_tune(
    states: Sequence[Any],
    targets: Sequence[int],
    classes: int,
    options: FineTuneOptions,
    log: Callable[[str], None] | None = None,
) -> TopLayers:
    """Train a copy of the top layers and a head on cached states (cross-entropy, AdamW, warm-up, decay)."""
    import torch  # seconds to import: loaded on first use, not with relaydesk

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    top = _new_top_layers(options.layers, classes)
    layers, head = top.layers, top.head
    y = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    batches = _batches(states, options.batch_size)
    optimizer = torch.optim.AdamW(
        [
            {"params": list(layers.parameters()), "lr": options.learning_rate},
            {"params": list(head.parameters()), "lr": options.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps = max(1, round(options.epochs * len(batches)))
    warmup = max(1, steps // 10)

    def rate(step: int) -> float:  # linear warm-up over a tenth of the steps, then linear decay to 0
        return (step + 1) / warmup if step < warmup else max(0.0, (steps - step) / max(1, steps - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    layers.train()
    # The batches in a new random order every pass; the last pass stops where the steps run out.
    visits = np.concatenate([rng.permutation(len(batches)) for _ in range(math.ceil(steps / len(batches)))])
    total, count, last = 0.0, 0, 0.0
    for step, b in enumerate(visits[:steps], start=1):
        index = batches[b]
        hidden, mask = _pad([states[i] for i in index])
        loss = torch.nn.functional.cross_entropy(
            top._forward(hidden, mask), y[index], label_smoothing=options.label_smoothing
        )
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        optimizer.zero_grad()
        schedule.step()
        last = float(loss.detach())
        total, count = total + last, count + 1
        if log is not None and (step % len(batches) == 0 or step == steps):
            log(f"fine-tuning {step / len(batches):.2f}/{options.epochs:g} epochs: loss {total / count:.3f}")
            total, count = 0.0, 0
    layers.eval()
    with torch.no_grad():
        for parameter in layers.parameters():
            parameter.requires_grad_(False)
            # Served as saved: the file keeps half precision, so the model in memory does too.
            parameter.copy_(parameter.to(torch.float16).to(parameter.dtype))
    if math.isnan(last):
        raise RuntimeError("fine-tuning diverged (loss is NaN)")
    return top
