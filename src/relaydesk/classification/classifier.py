"""The text classifier: TF-IDF + sentence embeddings, a linear model, temperature calibration, abstention.

A trained classifier is a self-contained folder (``meta.json`` + ``model.joblib``; the encoder is the
bundled all-MiniLM-L6-v2) that needs no database: the registry (``service``) only points at it.

How a model is built (``train``):

1. Features: word 1-2-gram and character 2-5-gram TF-IDF, plus the all-MiniLM-L6-v2 sentence embedding
   (frozen).
2. A linear SVM (one-vs-rest). K-fold cross-validation (5 by default, stratified, the folds on two
   threads) gives an out-of-fold margin for every training text; the vectorisers and the SVM are refit
   inside each fold.
3. A second opinion: the encoder's top layers retrained on the labels (``finetune``; 4 of 6 layers, up
   to 3 epochs, off with ``fine_tune_layers=0``). Two-fold cross-validation gives its out-of-fold
   log-probabilities (two half-data runs cost one full one). The epochs are what fits the time budget
   (``time_budget_seconds``, 9 minutes) on this CPU, measured by a few timed training steps.
4. The out-of-fold scores fix the combination by minimum negative log-likelihood: a softmax
   temperature for the SVM margins and a weight for the fine-tuned log-probabilities, so
   ``softmax(margin / T + w * log p_finetuned)`` is a calibrated probability; they also fix the
   abstention threshold.
5. Metrics (accuracy, macro-F1, per-class precision/recall, most confused pairs, ECE, the threshold's
   precision and coverage) are measured on the out-of-fold predictions; the served model is then fit on
   all the data with the same settings, combination and threshold.

With an abstain label (CLINC150's ``oos``) the out-of-scope examples are a class of their own *and* the
negatives for the threshold: a prediction is the abstain label when the top class is the abstain label or
the top in-scope probability is below the threshold. The threshold is the lowest whose out-of-fold abstain
recall reaches a target (0.8 by default), or else the one that maximises in-scope accuracy + abstain recall.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from relaydesk.classification.calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_combination,
    log_softmax,
    softmax,
)
from relaydesk.classification.finetune import (
    Encoded,
    FineTuneOptions,
    TopLayers,
    encode,
    fine_tune,
    load_top_layers,
    seconds_per_epoch,
)
from relaydesk.ml.embeddings import embed, one_torch_thread

__all__ = [
    "ARTIFACT_FORMAT",
    "MIN_EXAMPLES_PER_CLASS",
    "ClassifierOutput",
    "TextClassifier",
    "TrainingDataError",
    "TrainingOptions",
    "embed_texts",
    "evaluate",
    "load_classifier",
    "train",
]

TOP_LAYERS_FILE = "encoder_top.pt"
ARTIFACT_FORMAT = 2  # 2: optional fine-tuned top layers (encoder_top.pt); format 1 folders still load
_READABLE_FORMATS = (1, 2)
# A fine-tuned opinion the held-out fit weighs at (nearly) nothing is not worth its CPU at prediction.
_USELESS_WEIGHT = 1e-3
MIN_EXAMPLES_PER_CLASS = 4
# Less fine-tuning than this is not worth its training time or its prediction cost.
MIN_FINE_TUNE_EPOCHS = 0.5
FloatArray = npt.NDArray[np.float64]


class TrainingDataError(ValueError):
    """The training data cannot make a model (too few classes or examples); the message says what to fix."""


@dataclass(frozen=True)
class TrainingOptions:
    # Precision the head must reach on held-out data above its threshold (heads without abstain label).
    target_precision: float = 0.90
    # Out-of-fold predictions of k-fold cross-validation calibrate, set the threshold and give the metrics.
    folds: int = 5
    # With an abstain label: the cross-validated abstain recall the threshold must reach; the lowest such
    # threshold keeps the most in-scope answers. None: maximise in-scope accuracy + abstain recall, which
    # weighs each rare out-of-scope example so heavily that it gave up 3 points of in-scope accuracy
    # on CLINC150 (docs/benchmarks.md). 0.75, chosen on CLINC150's val.csv: its out-of-scope queries are
    # caught more often than the training file's own out of fold (0.82 at a cross-validated 0.75).
    abstain_recall_target: float | None = 0.75
    use_embeddings: bool = True
    embedding_weight: float = 2.0
    svm_c: float = 1.0
    # Top encoder layers retrained on the labels (0: the frozen recipe only); needs use_embeddings.
    fine_tune_layers: int = 4
    # At most this many epochs; fewer (down to MIN_FINE_TUNE_EPOCHS, else none) when the time budget
    # is short for them on this CPU.
    fine_tune_epochs: float = 3.0
    # Wall-clock seconds the whole training should take; the fine-tuning gets what the rest leaves
    # (None: no budget). 540 s keeps ``relaydesk model train`` under 10 minutes on a slow 2-core machine.
    time_budget_seconds: float | None = 540.0
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
    meta: dict[str, Any] = field(default_factory=dict)
    top_layers: TopLayers | None = None  # the fine-tuned second opinion, when trained with one
    fine_tune_layers: int = 0
    fine_tune_weight: float = 0.0

    # -- inference ---------------------------------------------------------------------------------
    def _features(self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None) -> Any:
        from scipy import sparse  # scipy and sklearn load when a model is used: `import relaydesk` stays fast

        parts = [self.word_vectorizer.transform(texts), self.char_vectorizer.transform(texts)]
        if self.use_embeddings:
            if embeddings is None:
                embeddings = embed_texts(list(texts))
            parts.append(sparse.csr_matrix(embeddings * self.embedding_weight))
        return sparse.hstack(parts).tocsr()

    def margins(self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None) -> FloatArray:
        scores = np.asarray(self.svm.decision_function(self._features(texts, embeddings)), dtype=np.float64)
        if scores.ndim == 1:  # two classes: sklearn returns one margin for the second class
            scores = np.stack([-scores, scores], axis=1) / 2
        return scores

    def predict_proba(
        self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None
    ) -> FloatArray:
        """Calibrated probabilities; ``embeddings`` (rows of ``ml.embeddings.embed``) skip the encoder
        (a model with fine-tuned layers runs its own pass, which also yields those rows)."""
        if self.top_layers is None:
            return softmax(self.margins(texts, embeddings) / self.temperature)
        texts = list(texts)
        # A few texts on a request's path: one thread (see ml.embeddings.one_torch_thread).
        with one_torch_thread() if len(texts) <= 4 else nullcontext():
            encoded = encode(texts, self.fine_tune_layers)
            fine_tuned = log_softmax(self.top_layers.logits(encoded.states))
        margins = self.margins(texts, encoded.embeddings)
        return softmax(margins / self.temperature + self.fine_tune_weight * fine_tuned)

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

    def predict(
        self, texts: Sequence[str], embeddings: npt.NDArray[np.float32] | None = None
    ) -> list[ClassifierOutput]:
        return self.decide(self.predict_proba(texts, embeddings))

    def predict_one(self, text: str, embedding: npt.NDArray[np.float32] | None = None) -> ClassifierOutput:
        return self.predict([text], None if embedding is None else embedding.reshape(1, -1))[0]

    # -- persistence -------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        import joblib  # loads when a model is saved or loaded: `import relaydesk` stays fast

        folder.mkdir(parents=True, exist_ok=True)
        if self.top_layers is not None:
            self.top_layers.save(folder / TOP_LAYERS_FILE)
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
            "fine_tune_layers": self.fine_tune_layers if self.top_layers is not None else 0,
            "fine_tune_weight": self.fine_tune_weight,
            "encoder": "bundled:all-MiniLM-L6-v2",
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


def load_classifier(folder: Path) -> TextClassifier:
    """Load a model folder written by ``TextClassifier.save``; ValueError when it is not one."""
    import joblib  # loads when a model is saved or loaded: `import relaydesk` stays fast

    meta_path = folder / "meta.json"
    if not meta_path.is_file() or not (folder / "model.joblib").is_file():
        raise ValueError(f"{folder} is not a model folder (meta.json and model.joblib expected)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") not in _READABLE_FORMATS:
        raise ValueError(f"{folder}: model format {meta.get('format')!r}, expected {ARTIFACT_FORMAT}")
    parts = joblib.load(folder / "model.joblib")
    fine_tune_layers = int(meta.get("fine_tune_layers", 0))
    top_layers = None
    if fine_tune_layers:
        if not (folder / TOP_LAYERS_FILE).is_file():
            raise ValueError(f"{folder}: {TOP_LAYERS_FILE} is missing (the model has fine-tuned layers)")
        top_layers = load_top_layers(folder / TOP_LAYERS_FILE)
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
        meta=meta,
        top_layers=top_layers,
        fine_tune_layers=fine_tune_layers,
        fine_tune_weight=float(meta.get("fine_tune_weight", 0.0)),
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
    log: Callable[[str], None] | None = None,
) -> TextClassifier:
    """Train, calibrate and measure a classifier (see the module docstring for the recipe)."""
    from sklearn.model_selection import StratifiedKFold  # sklearn loads for training only (seconds)

    options = options or TrainingOptions()
    say = log or (lambda _message: None)
    started = time.perf_counter()
    texts, labels = [str(t) for t in texts], [str(label) for label in labels]
    counts = validate_training_data(texts, labels)
    if abstain_label is not None and abstain_label not in counts:
        raise TrainingDataError(f"the abstain label {abstain_label!r} does not occur in the labels")

    # Embedded once (the encoder is frozen and sees no labels): every fold and the final fit reuse them.
    fine_tuning = options.use_embeddings and options.fine_tune_layers > 0
    encoded = encode(texts, options.fine_tune_layers) if fine_tuning else None
    embeddings = (
        encoded.embeddings if encoded is not None else embed_texts(texts) if options.use_embeddings else None
    )
    say(f"embedded {len(texts)} texts in {time.perf_counter() - started:.1f} s")
    folds = min(options.folds, min(counts.values()))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=options.seed)
    label_order = sorted(counts)
    margins = np.zeros((len(texts), len(label_order)))

    def out_of_fold(split: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]) -> None:
        fit_index, held_index = split
        fold_model = _fit(
            [texts[i] for i in fit_index],
            [labels[i] for i in fit_index],
            options,
            None if embeddings is None else embeddings[fit_index],
        )
        assert fold_model.labels == label_order  # stratified: every fold sees every class
        margins[held_index] = fold_model.margins(
            [texts[i] for i in held_index], None if embeddings is None else embeddings[held_index]
        )

    # liblinear releases the GIL: the folds' SVMs train side by side, one per core.
    workers = max(1, min(folds, os.cpu_count() or 1))
    folds_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for number, _ in enumerate(pool.map(out_of_fold, splitter.split(np.zeros(len(labels)), labels)), 1):
            say(f"fold {number}/{folds} done at {time.perf_counter() - started:.1f} s")
    # The final fit sees all the data, a fold (folds - 1) / folds of it, on one core.
    final_fit_seconds = (time.perf_counter() - folds_started) * workers / max(1, folds - 1)

    fine_tuned = None
    position = {label: i for i, label in enumerate(label_order)}
    targets = [position[label] for label in labels]  # class indices, for the fine-tuned layers
    committed = time.perf_counter() - started + final_fit_seconds
    tuning = _fine_tune_plan(encoded, options, committed, say) if encoded is not None else None
    if encoded is not None and tuning is not None:
        fine_tuned = _fine_tuned_out_of_fold(encoded, labels, targets, len(label_order), tuning, say)
        say(f"fine-tuned out of fold at {time.perf_counter() - started:.1f} s")
    temperature, weight = fit_combination(margins, fine_tuned, labels, label_order)
    probabilities = softmax(margins / temperature + (weight * fine_tuned if fine_tuned is not None else 0.0))
    threshold, threshold_stats = choose_threshold(
        probabilities,
        labels,
        label_order,
        abstain_label,
        options.target_precision,
        options.abstain_recall_target,
    )
    model = _fit(texts, labels, options, embeddings)
    model.temperature, model.threshold, model.abstain_label = temperature, threshold, abstain_label
    if encoded is not None and tuning is not None and weight > _USELESS_WEIGHT:
        model.top_layers = fine_tune(encoded.states, targets, len(label_order), tuning, say)
        model.fine_tune_layers, model.fine_tune_weight = options.fine_tune_layers, weight
    metrics = _metrics(probabilities, labels, model)
    metrics.update(threshold_stats)
    metrics["temperature"] = temperature
    metrics["fine_tune_weight"] = weight
    metrics["measured_on"] = f"{folds}-fold cross-validation (out-of-fold predictions of all {len(texts)})"
    model.meta = {
        "metrics": metrics,
        "data_summary": {"n": len(texts), "label_counts": dict(sorted(counts.items()))},
        "options": options.__dict__,
        # What the time budget allowed (``options`` holds what was asked for).
        "fine_tune_epochs_run": tuning.epochs if tuning is not None and model.top_layers is not None else 0,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    say(f"trained in {model.meta['training_seconds']} s")
    return model


def _fit(
    texts: Sequence[str],
    labels: Sequence[str],
    options: TrainingOptions,
    embeddings: npt.NDArray[np.float32] | None,
) -> TextClassifier:
    # sklearn loads for training only (seconds).
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
    )
    svm = LinearSVC(C=options.svm_c, random_state=options.seed)
    svm.fit(model._features(texts, embeddings), list(labels))
    model.svm = svm
    model.labels = [str(c) for c in svm.classes_]
    return model


def _fine_tune_plan(
    encoded: Encoded, options: TrainingOptions, committed_seconds: float, say: Callable[[str], None]
) -> FineTuneOptions | None:
    """The fine-tuning that fits the time budget: ``options.fine_tune_epochs``, or fewer, or none.

    ``committed_seconds``: what the training has spent plus what it still must (the final SVM fit).
    The fine-tuning costs two passes per epoch (the two half-data runs out of fold, then the final run
    on all the data) plus the out-of-fold predictions (about a third of a pass: forward only).
    """
    epochs = options.fine_tune_epochs
    if options.time_budget_seconds is not None:
        per_epoch = seconds_per_epoch(encoded.states, options.fine_tune_layers)
        affordable = (options.time_budget_seconds - committed_seconds - per_epoch / 3) / (2 * per_epoch)
        epochs = min(epochs, math.floor(affordable * 4) / 4)  # in quarter epochs
        say(
            f"fine-tuning: ~{per_epoch:.0f} s per epoch on this CPU, {max(epochs, 0):g} of "
            f"{options.fine_tune_epochs:g} epochs fit the {options.time_budget_seconds:g} s budget"
        )
    if epochs < MIN_FINE_TUNE_EPOCHS:
        return None
    return FineTuneOptions(layers=options.fine_tune_layers, epochs=epochs, seed=options.seed)


def _fine_tuned_out_of_fold(
    encoded: Encoded,
    labels: Sequence[str],
    targets: list[int],
    classes: int,
    tuning: FineTuneOptions,
    say: Callable[[str], None],
) -> FloatArray:
    """Out-of-fold log-probabilities of the fine-tuned layers: two folds, each trained on one half."""
    from sklearn.model_selection import StratifiedKFold  # sklearn loads for training only (seconds)

    out = np.zeros((len(labels), classes))
    splitter = StratifiedKFold(n_splits=2, shuffle=True, random_state=tuning.seed)
    for number, (fit_index, held_index) in enumerate(splitter.split(np.zeros(len(labels)), labels), start=1):
        top = fine_tune(
            [encoded.states[i] for i in fit_index],
            [targets[i] for i in fit_index],
            classes,
            tuning,
            say,
        )
        out[held_index] = log_softmax(top.logits([encoded.states[i] for i in held_index]))
        say(f"fine-tuning fold {number}/2 done")
    return out


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
    from sklearn.metrics import f1_score, precision_recall_fscore_support  # sklearn: seconds to import

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


def embed_texts(texts: list[str]) -> npt.NDArray[np.float32]:
    """The frozen sentence embeddings the models read (rows of ``ml.embeddings.embed``)."""
    # One short text gains nothing from intra-op threads and loses a lot when the CPU is shared
    # (measured: p50 126 ms with 2 threads vs 28 ms with 1 on a loaded 2-core machine).
    return embed(texts, single_thread=len(texts) <= 4)
