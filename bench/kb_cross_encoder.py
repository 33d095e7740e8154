"""Experiments: a cross-encoder (query and article read together) as an extra abstention signal.

Three ways to train one from the bundled all-MiniLM-L6-v2 weights with a new one-logit head:

- ``cross_scores``, on the knowledge base alone. StackFAQ's article titles are questions; each title
  is paired with its own article's passages (positives) and with the passages of the articles most
  like it (near misses). No dev query is used in training, so its score on a dev query's candidate is
  an out-of-sample signal.
- ``fold_scores``, on the labelled dev queries, out of fold: one model per fold of ``kb_quality_cv``'s
  split, fine-tuned on the other folds' queries against their candidates' titles.
- ``transfer_scores``, on other data sets' labelled paraphrases: CLINC150's and BANKING77's training
  queries (data/), each paired with a close query of its own intent and close queries of other intents
  (near misses of the kind StackFAQ's unanswerable questions are). No StackFAQ text is used in training.

``kb_quality_cv.py`` then cross-validates the logistic model that combines the score with the shipped
features (results in docs/benchmarks.md, "Cross-encoders"):

    .venv/bin/python bench/kb_quality_cv.py --experiments "baseline,cross-encoder" --seeds 5 --split all
    .venv/bin/python bench/kb_quality_cv.py --seeds 1 --split questions \
        --experiments "baseline,fold-trained"
    .venv/bin/python bench/kb_quality_cv.py --experiments "baseline,paraphrase" --seeds 5 --split all

Scores are cached next to the quality cache (``<cache>.cross.npz``, ``<cache>.cross-folds-*.npz``,
``<cache>.cross-transfer-*.npz``); the first takes about 10 minutes on 2 cores, the second about 25,
the third 8 minutes per 6,000 anchor queries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

EPOCHS = 4
LEARNING_RATE = 3e-5
HARD_NEGATIVES = 12
RANDOM_NEGATIVES = 4
POSITIVES = 2
MAX_LENGTH = 128
WORD_DROPOUT = 0.15


def _model() -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from relaydesk.ml.embeddings import default_model_path

    path = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, local_files_only=True)
    return tokenizer, model


def _pairs(tokenizer: Any, query: str, texts: list[str], length: int) -> Any:
    """One batch: the query paired with each text, the text truncated to fit ``length`` tokens."""
    return tokenizer(
        [query] * len(texts),
        texts,
        truncation="only_second",
        max_length=length,
        padding=True,
        return_tensors="pt",
    )


def _trainer(model: Any, learning_rate: float, steps: int) -> Callable[[Any, list[float]], float]:
    """Puts ``model`` in training mode; returns one BCE step on a batch and its labels (returns the loss).

    AdamW, weight decay 0.01, the learning rate warmed up over the first 10 % of ``steps`` and then
    decayed linearly to zero."""
    import torch

    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()

    def step(batch: Any, labels: list[float]) -> float:
        loss = loss_fn(model(**batch).logits.squeeze(-1), torch.tensor(labels))
        loss.backward()
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        return float(loss.detach())

    return step


def _groups(data: dict[str, Any], rng: random.Random) -> list[tuple[str, list[int], list[int]]]:
    """Per article: its title, its passages most like the title, and near-miss passages of others."""
    dense = data["dense"]
    passages = len(data["passage_texts"])
    starts = [*data["passage_starts"], passages]
    owner = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    groups = []
    for a, title in enumerate(data["titles"]):
        sims = dense[:passages] @ dense[passages + a]
        own = np.arange(starts[a], starts[a + 1])
        positives = own[np.argsort(-sims[own])][:POSITIVES].tolist()
        others = np.argsort(-np.where(owner == a, -np.inf, sims))
        hard = others[:HARD_NEGATIVES].tolist()
        pool = [p for p in range(passages) if owner[p] != a and p not in hard]
        groups.append((title, positives, hard + rng.sample(pool, RANDOM_NEGATIVES)))
    return groups


def _dropped(text: str, rng: random.Random) -> str:
    words = text.split()
    kept = [w for w in words if rng.random() > WORD_DROPOUT]
    return " ".join(kept or words)


def train(data: dict[str, Any], seed: int = 0) -> tuple[Any, Any]:
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    tokenizer, model = _model()
    groups = _groups(data, rng)
    texts = data["passage_texts"]
    step = _trainer(model, LEARNING_RATE, EPOCHS * len(groups))
    started = time.perf_counter()
    for epoch in range(EPOCHS):
        order = list(range(len(groups)))
        rng.shuffle(order)
        total = 0.0
        for g in order:
            title, positives, negatives = groups[g]
            query = title if epoch == 0 else _dropped(title, rng)
            rows = positives + negatives
            batch = _pairs(tokenizer, query, [texts[p] for p in rows], MAX_LENGTH)
            total += step(batch, [1.0] * len(positives) + [0.0] * len(negatives))
        print(f"  epoch {epoch}: loss {total / len(groups):.4f} ({time.perf_counter() - started:.0f} s)")
    model.eval()
    return tokenizer, model


def score(data: dict[str, Any], tokenizer: Any, model: Any) -> list[np.ndarray]:
    """Per dev query, per candidate: the logit of (query, the candidate's best passage)."""
    import torch

    texts = data["passage_texts"]
    result = []
    with torch.inference_mode():
        for row in data["rows"]:
            passages = [texts[c.best_passage] for c in row["candidates"]]
            batch = _pairs(tokenizer, row["query"], passages, MAX_LENGTH)
            result.append(model(**batch).logits.squeeze(-1).numpy().astype(np.float64))
    return result


def _cached(path: Path) -> list[np.ndarray] | None:
    if not path.exists():
        return None
    stored = np.load(path)
    return [stored[str(i)] for i in range(len(stored.files))]


def _store(path: Path, data: dict[str, Any], scores: list[np.ndarray], name: str) -> list[np.ndarray]:
    """Cache the scores and print how well they rank the answerable queries' candidates alone."""
    np.savez(path, **{str(i): s for i, s in enumerate(scores)})
    pairs = [(r, s) for r, s in zip(data["rows"], scores, strict=True) if r["gold"] is not None]
    hits = [r["labels"][int(np.argmax(s))] for r, s in pairs]
    print(f"  {name} alone: P@1 over the candidates {np.mean(hits):.3f} ({len(pairs)} queries)")
    return scores


def cross_scores(data: dict[str, Any], cache: Path) -> list[np.ndarray]:
    path = cache.with_suffix(".cross.npz")
    cached = _cached(path)
    if cached is not None:
        return cached
    tokenizer, model = train(data)
    return _store(path, data, score(data, tokenizer, model), "cross-encoder")


# -- trained on the training folds' labelled queries ------------------------------------------------------

FOLD_EPOCHS = 2
FOLD_LEARNING_RATE = 4e-5
TITLE_LENGTH = 64


def _title_batch(tokenizer: Any, data: dict[str, Any], row: dict[str, Any]) -> Any:
    titles = [data["titles"][c.position] for c in row["candidates"]]
    return _pairs(tokenizer, row["query"], titles, TITLE_LENGTH)


def fold_scores(data: dict[str, Any], cache: Path, seed: int, split: str) -> list[np.ndarray]:
    """Out of fold, per dev query and candidate: the logit of (query, candidate's title) from a
    cross-encoder fine-tuned on the other four folds' labelled queries (each query against its ten
    candidates' titles, the right one positive; an unanswerable query's all negative)."""
    path = cache.with_suffix(f".cross-folds-{split}-{seed}.npz")
    cached = _cached(path)
    if cached is not None:
        return cached
    import torch
    from kb_quality_cv import folds

    rows = data["rows"]
    result: list[np.ndarray | None] = [None] * len(rows)
    started = time.perf_counter()
    for number, (train_rows, test_rows) in enumerate(folds(data, seed, split)):
        rng = random.Random(seed * 10 + number)
        torch.manual_seed(seed * 10 + number)
        tokenizer, model = _model()
        step = _trainer(model, FOLD_LEARNING_RATE, FOLD_EPOCHS * len(train_rows))
        for _ in range(FOLD_EPOCHS):
            order = [int(i) for i in train_rows]
            rng.shuffle(order)
            for i in order:
                step(_title_batch(tokenizer, data, rows[i]), rows[i]["labels"].astype(float).tolist())
        model.eval()
        with torch.inference_mode():
            for i in test_rows:
                logits = model(**_title_batch(tokenizer, data, rows[i])).logits.squeeze(-1)
                result[int(i)] = logits.numpy().astype(np.float64)
        print(f"  fold {number}: trained and scored ({time.perf_counter() - started:.0f} s)", flush=True)
    scores = [s for s in result if s is not None]
    assert len(scores) == len(rows)
    return _store(path, data, scores, "fold-trained cross-encoder")


# -- trained on other data sets' paraphrases (CLINC150, BANKING77) -----------------------------------------

TRANSFER_ANCHORS = 6000
TRANSFER_OOS_ANCHORS = 100
TRANSFER_NEGATIVES = 3
TRANSFER_POOL = 10
TRANSFER_GROUPS_PER_STEP = 8
TRANSFER_LEARNING_RATE = 3e-5
TRANSFER_LENGTH = 64


def _intent_texts() -> tuple[list[str], list[str]]:
    """CLINC150's and BANKING77's training queries with their intent (``oos``: out of scope)."""
    import csv

    from kb_quality_cv import ROOT

    texts, labels = [], []
    for name, column in (("clinc150", "label"), ("banking77", "category")):
        with (ROOT / "data" / name / "train.csv").open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                texts.append(record["text"])
                labels.append("oos" if record[column] == "oos" else f"{name}:{record[column]}")
    return texts, labels


def _transfer_groups(
    rng: random.Random, anchors: int
) -> tuple[list[str], list[tuple[int, list[int], list[int]]]]:
    """Per anchor query: a paraphrase (one of the same intent's ``TRANSFER_POOL`` queries most like it),
    near misses (drawn from the other intents' ``TRANSFER_POOL`` queries most like it) and one query at
    random. Positives and near misses are drawn equally close to the anchor, so closeness alone does not
    tell them apart. An out-of-scope anchor has no positive."""
    from relaydesk.ml.embeddings import embed

    texts, labels = _intent_texts()
    vectors = embed(texts)
    label_array = np.array(labels)
    in_scope = [i for i, label in enumerate(labels) if label != "oos"]
    out_of_scope = [i for i, label in enumerate(labels) if label == "oos"]
    groups = []
    for a in rng.sample(in_scope, anchors) + rng.sample(out_of_scope, TRANSFER_OOS_ANCHORS):
        sims = vectors @ vectors[a]
        sims[a] = -np.inf
        same = label_array == labels[a]
        others = np.where(same | (label_array == "oos"), -np.inf, sims)
        negatives = rng.sample(np.argsort(-others)[:TRANSFER_POOL].tolist(), TRANSFER_NEGATIVES - 1)
        negatives.append(rng.choice([j for j in in_scope if labels[j] != labels[a]]))
        positives = []
        if labels[a] != "oos":
            positives.append(rng.choice(np.argsort(-np.where(same, sims, -np.inf))[:TRANSFER_POOL].tolist()))
        groups.append((a, positives, negatives))
    return texts, groups


def train_transfer(anchors: int, seed: int = 0) -> tuple[Any, Any]:
    """A (query, query) paraphrase cross-encoder: does the second ask the same thing as the first?"""
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    texts, groups = _transfer_groups(rng, anchors)
    tokenizer, model = _model()
    steps = -(-len(groups) // TRANSFER_GROUPS_PER_STEP)
    step = _trainer(model, TRANSFER_LEARNING_RATE, steps)
    rng.shuffle(groups)
    started, total = time.perf_counter(), 0.0
    for s in range(steps):
        firsts, seconds, labels = [], [], []
        for a, positives, negatives in groups[
            s * TRANSFER_GROUPS_PER_STEP : (s + 1) * TRANSFER_GROUPS_PER_STEP
        ]:
            for j in positives + negatives:
                firsts.append(texts[a])
                seconds.append(texts[j])
            labels += [1.0] * len(positives) + [0.0] * len(negatives)
        batch = tokenizer(
            firsts, seconds, truncation=True, max_length=TRANSFER_LENGTH, padding=True, return_tensors="pt"
        )
        total += step(batch, labels)
        if (s + 1) % 100 == 0:
            print(f"  step {s + 1}/{steps}: loss {total / 100:.4f} ({time.perf_counter() - started:.0f} s)")
            total = 0.0
    model.eval()
    return tokenizer, model


def transfer_scores(data: dict[str, Any], cache: Path, anchors: int = TRANSFER_ANCHORS) -> list[np.ndarray]:
    """Per dev query, per candidate: the paraphrase logit of (query, the candidate's title), from a
    cross-encoder that never saw StackFAQ (trained by ``train_transfer`` on ``anchors`` groups)."""
    path = cache.with_suffix(f".cross-transfer-{anchors}.npz")
    cached = _cached(path)
    if cached is not None:
        return cached
    import torch

    tokenizer, model = train_transfer(anchors)
    with torch.inference_mode():
        scores = [
            model(**_title_batch(tokenizer, data, row)).logits.squeeze(-1).numpy().astype(np.float64)
            for row in data["rows"]
        ]
    return _store(path, data, scores, "paraphrase cross-encoder (CLINC150, BANKING77)")
