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
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Encoded", "FineTuneOptions", "TopLayers", "encode", "fine_tune", "load_top_layers"]

FloatArray = npt.NDArray[np.float64]
_ENCODE_BATCH = 64
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[int, str], tuple[npt.NDArray[np.float32], Any]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class FineTuneOptions:
    layers: int = 4  # top transformer layers retrained (of 6); the rest stay frozen
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-4  # the transformer layers
    head_learning_rate: float = 3e-3  # the new linear head
    label_smoothing: float = 0.1
    seed: int = 0


@dataclass
class Encoded:
    """The shared forward pass over some texts."""

    embeddings: npt.NDArray[np.float32]  # the frozen sentence embedding (L2-normalised), one row per text
    states: list[Any]  # per text: its hidden states after the last frozen layer (tokens x 384, float16)


def _model() -> Any:
    from relaydesk.ml.embeddings import load_embedder

    return load_embedder()


def _single_text_model() -> Any:
    from relaydesk.ml.embeddings import single_text_model

    return single_text_model()


def _split_layer(layers: int) -> int:
    total = int(_model()[0].auto_model.config.num_hidden_layers)
    if not 1 <= layers <= total:
        raise ValueError(f"fine-tuned layers must be between 1 and {total}, not {layers}")
    return total - layers


def encode(texts: Sequence[str], layers: int) -> Encoded:
    """One frozen forward pass: sentence embeddings and the states the top ``layers`` layers read.

    Single texts (a prediction) are cached by text, so the heads of one ticket share one pass.
    """
    import torch

    split = _split_layer(layers)
    if len(texts) == 1:
        key = (split, texts[0])
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return Encoded(hit[0][None, :], [hit[1]])
    # One text is a prediction on a request's path: the single-text model (bfloat16 where the CPU has
    # it natively, ~40 % less CPU; vectors within a cosine of 0.9999 of float32, see ml.embeddings).
    model = _model() if len(texts) != 1 else _single_text_model()
    tokenizer, bert = model.tokenizer, model[0].auto_model
    embeddings = np.zeros((len(texts), bert.config.hidden_size), dtype=np.float32)
    states: list[Any] = [None] * len(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths: little padding
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
    if len(texts) == 1:
        with _cache_lock:
            _cache[(split, texts[0])] = (embeddings[0], states[0])
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return Encoded(embeddings, states)


def _mean_pool(hidden: Any, mask: Any) -> Any:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _pad(states: Sequence[Any]) -> tuple[Any, Any]:
    import torch

    longest = max(int(s.shape[0]) for s in states)
    hidden = torch.zeros(len(states), longest, int(states[0].shape[1]), dtype=torch.float32)
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : s.shape[0]] = s.to(torch.float32)
        mask[row, : s.shape[0]] = 1
    return hidden, mask


class TopLayers:
    """The retrained top layers of the encoder and a linear head: states -> class logits."""

    def __init__(self, layers: Any, head: Any) -> None:
        self.layers = layers  # torch.nn.ModuleList
        self.head = head  # torch.nn.Linear
        self._copies: dict[Any, TopLayers] = {}  # the same weights in another precision

    def _in(self, dtype: Any) -> TopLayers:
        import torch

        if dtype == torch.float32:
            return self
        if dtype not in self._copies:
            self._copies[dtype] = TopLayers(
                copy.deepcopy(self.layers).to(dtype), copy.deepcopy(self.head).to(dtype)
            )
        return self._copies[dtype]

    def _forward(self, hidden: Any, mask: Any) -> Any:
        import torch

        # The additive attention mask every BERT attention implementation accepts: 0 keeps a token,
        # the most negative float hides padding.
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=additive)
            if isinstance(hidden, tuple):  # older transformers return (hidden, ...)
                hidden = hidden[0]
        return self.head(_mean_pool(hidden, mask))

    def logits(self, states: Sequence[Any], batch_size: int = 128) -> FloatArray:
        """Class logits; one text runs in the single-text model's precision (see ``encode``)."""
        import torch

        top = self
        if len(states) == 1:
            top = self._in(next(_single_text_model()[0].auto_model.parameters()).dtype)
        top.layers.eval()
        dtype = next(top.layers.parameters()).dtype
        out = np.zeros((len(states), int(self.head.out_features)), dtype=np.float64)
        order = np.argsort([int(s.shape[0]) for s in states], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(states), batch_size):
                index = order[start : start + batch_size]
                hidden, mask = _pad([states[i] for i in index])
                out[index] = top._forward(hidden.to(dtype), mask).float().numpy()
        return out

    def save(self, path: Path) -> None:
        import torch

        state = {
            "layers": {k: v.to(torch.float16) for k, v in self.layers.state_dict().items()},
            "head": self.head.state_dict(),
            "count": len(self.layers),
        }
        torch.save(state, path)


def load_top_layers(path: Path) -> TopLayers:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    split = _split_layer(int(state["count"]))
    layers = copy.deepcopy(_model()[0].auto_model.encoder.layer[split:])
    layers.load_state_dict({k: v.to(torch.float32) for k, v in state["layers"].items()})
    head_weight = state["head"]["weight"]
    head = torch.nn.Linear(int(head_weight.shape[1]), int(head_weight.shape[0]))
    head.load_state_dict(state["head"])
    layers.eval()
    return TopLayers(layers, head)


def fine_tune(
    states: Sequence[Any],
    targets: Sequence[int],
    classes: int,
    options: FineTuneOptions,
    log: Callable[[str], None] | None = None,
) -> TopLayers:
    """Train a copy of the top layers and a head on cached states (cross-entropy, AdamW, warm-up, decay)."""
    import torch

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    split = _split_layer(options.layers)
    layers = copy.deepcopy(_model()[0].auto_model.encoder.layer[split:])
    head = torch.nn.Linear(int(states[0].shape[1]), classes)
    top = TopLayers(layers, head)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    # Batches of similar length (little padding), visited in a new random order every epoch.
    order = np.argsort([int(s.shape[0]) for s in states], kind="stable")
    batches = [order[i : i + options.batch_size] for i in range(0, len(order), options.batch_size)]
    optimizer = torch.optim.AdamW(
        [
            {"params": list(layers.parameters()), "lr": options.learning_rate},
            {"params": list(head.parameters()), "lr": options.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps = max(1, options.epochs * len(batches))
    warmup = max(1, steps // 10)

    def rate(step: int) -> float:  # linear warm-up over a tenth of the steps, then linear decay to 0
        return (step + 1) / warmup if step < warmup else max(0.0, (steps - step) / max(1, steps - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    layers.train()
    for epoch in range(options.epochs):
        total = 0.0
        for b in rng.permutation(len(batches)):
            index = batches[b]
            hidden, mask = _pad([states[i] for i in index])
            loss = torch.nn.functional.cross_entropy(
                top._forward(hidden, mask), y[index], label_smoothing=options.label_smoothing
            )
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            optimizer.zero_grad()
            schedule.step()
            total += float(loss.detach())
        if log is not None:
            log(f"fine-tuning epoch {epoch + 1}/{options.epochs}: loss {total / max(1, len(batches)):.3f}")
    layers.eval()
    with torch.no_grad():
        for parameter in layers.parameters():
            parameter.requires_grad_(False)
            # Served as saved: the file keeps half precision, so the model in memory does too.
            parameter.copy_(parameter.to(torch.float16).to(parameter.dtype))
    if math.isnan(total):
        raise RuntimeError("fine-tuning diverged (loss is NaN)")
    return top
