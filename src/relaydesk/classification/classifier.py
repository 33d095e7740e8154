"""The text classifier: TF-IDF + sentence embeddings, a linear model, temperature calibration, abstention.

A trained classifier is a self-contained folder (``meta.json`` + ``model.joblib`` + optionally the
fine-tuned ``encoder/``) that needs no database: the registry (``service``) only points at it.

How a model is built (``train``):

1. The labelled texts are split, stratified, into a fit part and a held-out calibration part (15 %).
2. Features: word 1-2-gram and character 2-5-gram TF-IDF, plus the all-MiniLM-L6-v2 sentence embedding
   (optionally fine-tuned on the fit part for a few epochs with a classification head).
3. A linear SVM (one-vs-rest) is trained on the fit part; its margins on the held-out part fix the
   softmax temperature (minimum negative log-likelihood), so ``softmax(margin / T)`` is a calibrated
   probability, and the abstention threshold (below it the head abstains).
4. Metrics (accuracy, macro-F1, per-class precision/recall, most confused pairs, ECE, the threshold's
   precision and coverage) are measured on that held-out part, then the model is refit on all the data
   with the same settings, temperature and threshold.

With an abstain label (CLINC150's ``oos``) the out-of-scope examples are a class of their own *and* the
negatives for the threshold: a prediction is the abstain label when the top class is the abstain label or
the top in-scope probability is below the threshold. The threshold maximises in-scope accuracy + abstain
recall on the held-out part.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARTIFACT_FORMAT",
    "MIN_EXAMPLES_PER_CLASS",
    "ClassifierOutput",
    "TextClassifier",
    "TrainingDataError",
    "TrainingOptions",
    "evaluate",
    "expected_calibration_error",
    "load_classifier",
    "train",
]

ARTIFACT_FORMAT = 1
MIN_EXAMPLES_PER_CLASS = 4
FloatArray = npt.NDArray[np.float64]


class TrainingDataError(ValueError):
    """The training data cannot make a model (too few classes or examples); the message says what to fix."""


@dataclass(frozen=True)
class TrainingOptions:
    # Precision the head must reach on held-out data above its threshold (heads without abstain label).
    target_precision: float = 0.90
    holdout_fraction: float = 0.15
    use_embeddings: bool = True
    # Epochs of fine-tuning MiniLM with a classification head; 0 keeps the bundled encoder frozen.
    finetune_epochs: int = 0
    embedding_weight: float = 2.0
    svm_c: float = 1.0
    refit_on_all: bool = True
    seed: int = 0


@dataclass(frozen=True)
class ClassifierOutput:
    label: str | None  # None when abstained (or the abstain label when the model has one)
    confidence: float
    abstained: bool
    top: list[tuple[str, float]]


@dataclass
class TextClassifier:
    labels: list[str]
    abstain_label: str | None
    threshold: float
    temperature: float
    word_vectorizer: Any
    char_vectorizer: Any
    svm: Any
    use_embeddings: bool
    embedding_weight: float
    encoder_path: Path | None = None  # a fine-tuned encoder folder; None: the bundled one
    meta: dict[str, Any] = field(default_factory=dict)

    # -- inference ---------------------------------------------------------------------------------
    def _features(self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None) -> Any:
        from scipy import sparse

        parts = [self.word_vectorizer.transform(texts), self.char_vectorizer.transform(texts)]
        if self.use_embeddings:
            if embeddings is None:
                embeddings = _embed(list(texts), self.encoder_path)
            parts.append(sparse.csr_matrix(embeddings * self.embedding_weight))
        return sparse.hstack(parts).tocsr()

    def margins(self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None) -> FloatArray:
        scores = np.asarray(self.svm.decision_function(self._features(texts, embeddings)), dtype=np.float64)
        if scores.ndim == 1:  # two classes: sklearn returns one margin for the second class
            scores = np.stack([-scores, scores], axis=1) / 2
        return scores

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        return _softmax(self.margins(texts) / self.temperature)

    def decide(self, probabilities: FloatArray) -> list[ClassifierOutput]:
        """Turn calibrated probabilities into labels, abstaining below the threshold."""
        labels = np.asarray(self.labels)
        outputs = []
        abstain_index = self.labels.index(self.abstain_label) if self.abstain_label in self.labels else None
        for row in probabilities:
            order = np.argsort(-row)
            top = [(str(labels[i]), round(float(row[i]), 6)) for i in order[:3]]
            best = int(order[0])
            confidence = float(row[best])
            if abstain_index is not None:
                in_scope = [int(i) for i in order if int(i) != abstain_index]
                best_in_scope = in_scope[0]
                abstained = best == abstain_index or float(row[best_in_scope]) < self.threshold
                if abstained:
                    outputs.append(ClassifierOutput(self.abstain_label, confidence, True, top))
                else:
                    outputs.append(ClassifierOutput(str(labels[best]), confidence, False, top))
            elif confidence < self.threshold:
                outputs.append(ClassifierOutput(None, confidence, True, top))
            else:
                outputs.append(ClassifierOutput(str(labels[best]), confidence, False, top))
        return outputs

    def predict(self, texts: Sequence[str]) -> list[ClassifierOutput]:
        return self.decide(self.predict_proba(texts))

    def predict_one(self, text: str) -> ClassifierOutput:
        return self.predict([text])[0]

    # -- persistence -------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {"word": self.word_vectorizer, "char": self.char_vectorizer, "svm": self.svm},
            folder / "model.joblib",
            compress=3,
        )
        meta = {
            **self.meta,
            "format": ARTIFACT_FORMAT,
            "labels": self.labels,
            "abstain_label": self.abstain_label,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "use_embeddings": self.use_embeddings,
            "embedding_weight": self.embedding_weight,
            "encoder": "encoder" if self.encoder_path is not None else "bundled:all-MiniLM-L6-v2",
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


def load_classifier(folder: Path) -> TextClassifier:
    """Load a model folder written by ``TextClassifier.save``; ValueError when it is not one."""
    import joblib

    meta_path = folder / "meta.json"
    if not meta_path.is_file() or not (folder / "model.joblib").is_file():
        raise ValueError(f"{folder} is not a model folder (meta.json and model.joblib expected)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"{folder}: model format {meta.get('format')!r}, expected {ARTIFACT_FORMAT}")
    parts = joblib.load(folder / "model.joblib")
    encoder = folder / "encoder" if meta.get("encoder") == "encoder" else None
    return TextClassifier(
        labels=list(meta["labels"]),
        abstain_label=meta.get("abstain_label"),
        threshold=float(meta["threshold"]),
        temperature=float(meta["temperature"]),
        word_vectorizer=parts["word"],
        char_vectorizer=parts["char"],
        svm=parts["svm"],
        use_embeddings=bool(meta["use_embeddings"]),
        embedding_weight=float(meta["embedding_weight"]),
        encoder_path=encoder,
        meta=meta,
    )


# -- training --------------------------------------------------------------------------------------


def validate_training_data(texts: Sequence[str], labels: Sequence[str]) -> Counter[str]:
    if len(texts) != len(labels):
        raise TrainingDataError(f"{len(texts)} texts but {len(labels)} labels")
    empty = sum(1 for t in texts if not t.strip())
    if empty:
        raise TrainingDataError(f"{empty} example(s) have an empty text; remove them or fill them in")
    counts = Counter(labels)
    if len(counts) < 2:
        raise TrainingDataError(f"need at least 2 classes, found {len(counts)}")
    small = sorted((label, n) for label, n in counts.items() if n < MIN_EXAMPLES_PER_CLASS)
    if small:
        listed = ", ".join(f"{label!r} ({n})" for label, n in small[:10])
        raise TrainingDataError(
            f"every class needs at least {MIN_EXAMPLES_PER_CLASS} examples; too few for {listed}"
            + (f" and {len(small) - 10} more" if len(small) > 10 else "")
        )
    return counts


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    abstain_label: str | None = None,
    options: TrainingOptions | None = None,
    work_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> TextClassifier:
    """Train, calibrate and measure a classifier (see the module docstring for the recipe).

    ``work_dir`` is where a fine-tuned encoder is written (the model folder it will be saved in).
    """
    from sklearn.model_selection import train_test_split

    options = options or TrainingOptions()
    say = log or (lambda _message: None)
    started = time.perf_counter()
    texts, labels = [str(t) for t in texts], [str(label) for label in labels]
    counts = validate_training_data(texts, labels)
    if abstain_label is not None and abstain_label not in counts:
        raise TrainingDataError(f"the abstain label {abstain_label!r} does not occur in the labels")
    n_classes = len(counts)
    holdout = max(options.holdout_fraction, n_classes / len(texts))
    fit_index, held_index = train_test_split(
        np.arange(len(texts)), test_size=holdout, stratify=labels, random_state=options.seed
    )
    fit_x, fit_y = [texts[i] for i in fit_index], [labels[i] for i in fit_index]
    held_x, held_y = [texts[i] for i in held_index], [labels[i] for i in held_index]

    encoder_path: Path | None = None
    if options.use_embeddings and options.finetune_epochs > 0:
        if work_dir is None:
            raise ValueError("fine-tuning needs work_dir to keep the encoder")
        say(f"fine-tuning the encoder for {options.finetune_epochs} epoch(s) on {len(fit_x)} texts")
        encoder_path = work_dir / "encoder"
        _finetune_encoder(fit_x, fit_y, encoder_path, epochs=options.finetune_epochs, seed=options.seed)

    # Embedded once: the fit, calibration and refit below reuse the same vectors.
    embeddings = _embed(texts, encoder_path) if options.use_embeddings else None
    say(f"fitting on {len(fit_x)} texts, calibrating on {len(held_x)}")
    model = _fit(fit_x, fit_y, options, encoder_path, None if embeddings is None else embeddings[fit_index])
    held_margins = model.margins(held_x, None if embeddings is None else embeddings[held_index])
    model.temperature = _fit_temperature(held_margins, held_y, model.labels)
    held_probabilities = _softmax(held_margins / model.temperature)
    model.abstain_label = abstain_label
    threshold, threshold_stats = _choose_threshold(
        held_probabilities, held_y, model.labels, abstain_label, options.target_precision
    )
    model.threshold = threshold
    metrics = _metrics(held_probabilities, held_y, model)
    metrics.update(threshold_stats)
    metrics["temperature"] = model.temperature
    metrics["measured_on"] = f"stratified held-out {len(held_x)} of {len(texts)} ({holdout:.0%})"

    if options.refit_on_all:
        say(f"refitting on all {len(texts)} texts")
        refit = _fit(texts, labels, options, encoder_path, embeddings)
        refit.temperature, refit.threshold, refit.abstain_label = model.temperature, threshold, abstain_label
        model = refit
    model.meta = {
        "metrics": metrics,
        "data_summary": {"n": len(texts), "label_counts": dict(sorted(counts.items()))},
        "options": options.__dict__,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    say(f"trained in {model.meta['training_seconds']} s")
    return model


def _fit(
    texts: Sequence[str],
    labels: Sequence[str],
    options: TrainingOptions,
    encoder_path: Path | None,
    embeddings: npt.NDArray[np.float32] | None,
) -> TextClassifier:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    word.fit(texts)
    try:
        char.fit(texts)
    except ValueError:  # tiny corpora: no character n-gram occurs twice
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(texts)
    model = TextClassifier(
        labels=[],
        abstain_label=None,
        threshold=0.0,
        temperature=1.0,
        word_vectorizer=word,
        char_vectorizer=char,
        svm=None,
        use_embeddings=options.use_embeddings,
        embedding_weight=options.embedding_weight,
        encoder_path=encoder_path,
    )
    svm = LinearSVC(C=options.svm_c, random_state=options.seed)
    svm.fit(model._features(texts, embeddings), list(labels))
    model.svm = svm
    model.labels = [str(c) for c in svm.classes_]
    return model


def _softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def _fit_temperature(margins: FloatArray, truth: Sequence[str], labels: list[str]) -> float:
    """The temperature that minimises the held-out negative log-likelihood (searched on log T)."""
    from scipy.optimize import minimize_scalar

    index = {label: i for i, label in enumerate(labels)}
    known = [(row, index[t]) for row, t in zip(range(len(truth)), truth, strict=True) if t in index]
    rows = np.array([r for r, _ in known])
    cols = np.array([c for _, c in known])

    def nll(log_t: float) -> float:
        p = _softmax(margins[rows] / math.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(rows)), cols], 1e-12, None)).mean())

    result = minimize_scalar(nll, bounds=(math.log(1e-3), math.log(100.0)), method="bounded")
    return float(math.exp(result.x))


def expected_calibration_error(
    confidence: FloatArray, correct: npt.NDArray[np.bool_], bins: int = 15
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            total += in_bin.mean() * abs(float(confidence[in_bin].mean()) - float(correct[in_bin].mean()))
    return float(total)


def _choose_threshold(
    probabilities: FloatArray,
    truth: Sequence[str],
    labels: list[str],
    abstain_label: str | None,
    target_precision: float,
) -> tuple[float, dict[str, Any]]:
    truth_array = np.asarray(truth)
    label_array = np.asarray(labels)
    if abstain_label is None:
        confidence = probabilities.max(axis=1)
        correct = label_array[probabilities.argmax(axis=1)] == truth_array
        # The lowest threshold whose kept predictions reach the target precision: most coverage.
        order = np.argsort(-confidence)
        kept_correct = np.cumsum(correct[order])
        precision = kept_correct / np.arange(1, len(order) + 1)
        ok = np.nonzero(precision >= target_precision)[0]
        if len(ok) == 0:
            threshold = 1.0
        else:
            last = int(ok[-1])
            threshold = float(confidence[order][last])
        kept = confidence >= threshold
        return threshold, {
            "threshold": threshold,
            "threshold_rule": f"lowest confidence with held-out precision >= {target_precision}",
            "threshold_precision": float(correct[kept].mean()) if kept.any() else None,
            "threshold_coverage": float(kept.mean()),
        }
    abstain_index = labels.index(abstain_label)
    in_scope_probabilities = probabilities.copy()
    in_scope_probabilities[:, abstain_index] = -1.0
    best_in_scope = in_scope_probabilities.argmax(axis=1)
    best_confidence = in_scope_probabilities.max(axis=1)
    top_is_abstain = probabilities.argmax(axis=1) == abstain_index
    is_abstain = truth_array == abstain_label
    right_in_scope = label_array[best_in_scope] == truth_array
    candidates = np.unique(np.concatenate([[0.0], np.round(best_confidence, 4)]))
    scored = []
    for candidate in candidates:
        abstains = top_is_abstain | (best_confidence < candidate)
        in_scope_accuracy = float((right_in_scope & ~abstains)[~is_abstain].mean())
        abstain_recall = float(abstains[is_abstain].mean()) if is_abstain.any() else 0.0
        scored.append(
            (in_scope_accuracy + abstain_recall, float(candidate), in_scope_accuracy, abstain_recall)
        )
    top_score = max(item[0] for item in scored)
    # Several thresholds often tie on a small held-out set: take the one nearest the middle of the tied
    # range rather than an edge of it, which would sit right against one held-out example.
    tied = [item for item in scored if item[0] >= top_score - 1e-9]
    middle = (tied[0][1] + tied[-1][1]) / 2
    _score, threshold, in_scope_accuracy, abstain_recall = min(tied, key=lambda item: abs(item[1] - middle))
    abstains = top_is_abstain | (best_confidence < threshold)
    kept = ~abstains
    return threshold, {
        "threshold": threshold,
        "threshold_rule": f"maximise held-out in-scope accuracy + {abstain_label} recall",
        "threshold_precision": float(right_in_scope[kept].mean()) if kept.any() else None,
        "threshold_coverage": float(kept.mean()),
        "heldout_in_scope_accuracy": in_scope_accuracy,
        "heldout_abstain_recall": abstain_recall,
    }


def _metrics(probabilities: FloatArray, truth: Sequence[str], model: TextClassifier) -> dict[str, Any]:
    outputs = model.decide(probabilities)
    predicted = [o.label if o.label is not None else "(abstained)" for o in outputs]
    top_label = [model.labels[i] for i in probabilities.argmax(axis=1)]
    report = evaluate(truth, top_label, abstain_label=None)
    confidence = probabilities.max(axis=1)
    correct = np.asarray(top_label) == np.asarray(truth)
    metrics: dict[str, Any] = {
        "n": len(truth),
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "per_class": report["per_class"],
        "confused_pairs": report["confused_pairs"],
        "ece": round(expected_calibration_error(confidence, correct), 4),
    }
    if model.abstain_label is not None:
        decided = evaluate(truth, predicted, abstain_label=model.abstain_label)
        metrics["in_scope_accuracy"] = decided["in_scope_accuracy"]
        metrics["oos_recall"] = decided["oos_recall"]
    return metrics


def evaluate(truth: Sequence[str], predicted: Sequence[str], *, abstain_label: str | None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall and the most confused pairs of two label lists."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    truth_list, predicted_list = list(truth), list(predicted)
    classes = sorted(set(truth_list))
    precision, recall, _f1, support = precision_recall_fscore_support(
        truth_list, predicted_list, labels=classes, zero_division=0
    )
    confusions = Counter(
        (t, p) for t, p in zip(truth_list, predicted_list, strict=True) if t != p
    ).most_common(10)
    result: dict[str, Any] = {
        "n": len(truth_list),
        "accuracy": round(float(np.mean(np.asarray(truth_list) == np.asarray(predicted_list))), 4),
        "macro_f1": round(
            float(f1_score(truth_list, predicted_list, labels=classes, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            c: {"precision": round(float(p), 4), "recall": round(float(r), 4), "support": int(s)}
            for c, p, r, s in zip(classes, precision, recall, support, strict=True)
        },
        "confused_pairs": [{"true": t, "predicted": p, "count": n} for (t, p), n in confusions],
    }
    if abstain_label is not None:
        pairs = list(zip(truth_list, predicted_list, strict=True))
        in_scope = [(t, p) for t, p in pairs if t != abstain_label]
        out_scope = [(t, p) for t, p in pairs if t == abstain_label]
        result["in_scope_accuracy"] = (
            round(sum(t == p for t, p in in_scope) / len(in_scope), 4) if in_scope else None
        )
        result["oos_recall"] = (
            round(sum(p == abstain_label for _t, p in out_scope) / len(out_scope), 4) if out_scope else None
        )
    return result


# -- embeddings ------------------------------------------------------------------------------------


def _embed(texts: list[str], encoder_path: Path | None) -> npt.NDArray[np.float32]:
    import torch

    from relaydesk.ml.embeddings import embed

    # One short text gains nothing from intra-op threads and loses a lot when the CPU is shared
    # (measured: p50 126 ms with 2 threads vs 28 ms with 1 on a loaded 2-core machine).
    single = len(texts) <= 4
    threads = torch.get_num_threads()
    if single and threads != 1:
        torch.set_num_threads(1)
    try:
        return embed(texts, model_path=encoder_path) if encoder_path is not None else embed(texts)
    finally:
        if single and threads != 1:
            torch.set_num_threads(threads)


def _finetune_encoder(
    texts: Sequence[str], labels: Sequence[str], out: Path, *, epochs: int, seed: int
) -> None:
    """Fine-tune a copy of MiniLM with a cosine classification head; save it for sentence-transformers.

    Mean pooling + L2 normalisation, exactly what the saved model computes at inference, so the
    embedding the linear model sees at training and at prediction time is the same function.
    """
    import copy

    import torch

    from relaydesk.ml.embeddings import load_embedder

    torch.manual_seed(seed)
    model = copy.deepcopy(load_embedder())  # never touch the process-wide cached encoder
    transformer: Any = model[0].auto_model
    tokenizer = model.tokenizer
    classes = sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    head = torch.nn.Linear(transformer.config.hidden_size, len(classes))
    targets = torch.tensor([index[label] for label in labels])
    batch_size = 32
    steps = max(1, epochs * math.ceil(len(texts) / batch_size))
    optimiser = torch.optim.AdamW(
        [{"params": transformer.parameters(), "lr": 8e-5}, {"params": head.parameters(), "lr": 2e-2}],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / 50) * max(0.0, 1 - step / steps)
    )
    transformer.train()
    generator = np.random.default_rng(seed)
    for _epoch in range(epochs):
        order = generator.permutation(len(texts))
        for start in range(0, len(texts), batch_size):
            batch = order[start : start + batch_size]
            encoded = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            hidden = transformer(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            # Scaled logits of unit vectors: the head learns class directions the SVM can use.
            loss = torch.nn.functional.cross_entropy(head(pooled) * 20, targets[batch], label_smoothing=0.05)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
    transformer.eval()
    model.save(str(out))
