"""Cheap, offline signals about a message: its language, its sentiment, the services it names, and
the text triage reads from a ticket (``ticket_text``).

Sentiment is a small lexicon written for support messages rather than a model or a general-purpose
package: it runs in microseconds on every new ticket, needs no weights, is deterministic, and its
vocabulary ("refund", "still waiting", "unacceptable") is the one customers use with a help desk. It
is a signal for agents and (optionally) priority, not a verdict, so a transparent word list that a
team can read and extend beats a black box. Negators flip the next sentiment word within three
tokens; intensifiers scale it.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from relaydesk.triage.policy import ServiceRule

__all__ = [
    "LanguageGuess",
    "Sentiment",
    "affected_services",
    "detect_language",
    "score_sentiment",
    "ticket_text",
]


@dataclass(frozen=True)
class LanguageGuess:
    code: str | None  # ISO 639-1, None when no language was likely enough
    confidence: float


_detector_lock = threading.Lock()


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    # Importing lingua is cheap; building a detector (its language models) is what is cached here.
    isos = [getattr(IsoCode639_1, c.upper()) for c in codes]
    if len(isos) == 1:
        # lingua needs two candidates; English is the neutral second.
        isos.append(IsoCode639_1.EN if isos[0] != IsoCode639_1.EN else IsoCode639_1.DE)
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()


def detect_language(text: str, codes: list[str], min_confidence: float) -> LanguageGuess:
    """The most likely of ``codes`` for ``text``; ``code`` is None below ``min_confidence``."""
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return LanguageGuess(None, 0.0)
    with _detector_lock:
        detector = _detector(tuple(sorted(codes)))
    values = detector.compute_language_confidence_values(sample)
    if not values:
        return LanguageGuess(None, 0.0)
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    confidence = round(float(best.value), 3)
    return LanguageGuess(code if confidence >= min_confidence and code in codes else None, confidence)


# --- sentiment --------------------------------------------------------------------------------------

# Weights from -3 (furious) to +3 (delighted). Phrases are matched before single words.
_LEXICON: dict[str, float] = {
    # negative
    "angry": -2.5, "furious": -3, "livid": -3, "outraged": -3, "upset": -2, "annoyed": -2,
    "frustrated": -2, "frustrating": -2, "disappointed": -2, "disappointing": -2, "unhappy": -2,
    "terrible": -3, "horrible": -3, "awful": -3, "worst": -3, "useless": -2.5, "pathetic": -3,
    "ridiculous": -2.5, "unacceptable": -3, "disgusting": -3, "appalling": -3, "shocking": -2,
    "bad": -1.5, "poor": -1.5, "broken": -1.5, "damaged": -1.5, "defective": -1.5, "faulty": -1.5,
    "wrong": -1, "missing": -1, "lost": -1, "late": -1, "delayed": -1, "never": -1, "fail": -1.5,
    "failed": -1.5, "failing": -1.5, "error": -1, "crash": -1.5, "crashes": -1.5, "crashed": -1.5,
    "scam": -3, "fraud": -3, "stolen": -2, "cheated": -3, "lied": -2.5, "rude": -2.5,
    "complaint": -2, "complain": -2, "lawyer": -2.5, "sue": -2.5, "cancel": -1, "refund": -0.5,
    "waste": -2, "hate": -3, "sick": -1.5, "ignored": -2.5, "nobody": -1, "again": -0.5,
    "still waiting": -2, "no response": -2, "no reply": -2, "fed up": -2.5, "had enough": -2.5,
    "not happy": -2, "not acceptable": -3, "charged twice": -2, "doesn't work": -1.5,
    "does not work": -1.5, "not working": -1.5, "waste of time": -2.5, "rip off": -3,
    # positive
    "thanks": 1.5, "thank": 1.5, "thx": 1, "great": 2, "good": 1, "excellent": 3, "amazing": 3,
    "awesome": 3, "love": 2.5, "lovely": 2, "perfect": 2.5, "happy": 2, "glad": 2, "pleased": 2,
    "helpful": 2, "appreciate": 2, "appreciated": 2, "wonderful": 3, "fantastic": 3, "quick": 1,
    "fast": 1, "easy": 1, "resolved": 1.5, "solved": 1.5, "works": 1, "fixed": 1.5, "nice": 1.5,
    "kind": 1.5, "please": 0.3, "well done": 2.5, "thank you": 2,
}  # fmt: skip
_NEGATORS = frozenset(
    {"not", "no", "never", "don't", "dont", "isn't", "wasn't", "didn't", "hardly", "without"}
)
_INTENSIFIERS = {"very": 1.5, "really": 1.4, "so": 1.3, "extremely": 1.8, "totally": 1.5, "absolutely": 1.6}
_PHRASES = sorted((k for k in _LEXICON if " " in k), key=len, reverse=True)
_TOKEN = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 (very negative) .. 1 (very positive)
    label: str  # negative | neutral | positive
    words: tuple[str, ...]  # what drove it, for the agent


def score_sentiment(text: str, negative_below: float = -0.35) -> Sentiment:
    lowered = text.lower().replace("\u2019", "'")
    found: list[str] = []
    total = 0.0
    for phrase in _PHRASES:
        count = lowered.count(phrase)
        if count:
            total += _LEXICON[phrase] * count
            found.append(phrase)
            lowered = lowered.replace(phrase, " ")
    tokens = _TOKEN.findall(lowered)
    shouting = len(re.findall(r"\b[A-Z]{3,}\b", text)) >= 2 or "!!" in text
    for i, token in enumerate(tokens):
        weight = _LEXICON.get(token)
        if weight is None or (token in _NEGATORS and i + 1 < len(tokens) and tokens[i + 1] in _LEXICON):
            continue
        before = tokens[max(0, i - 3) : i]
        if any(t in _NEGATORS for t in before):
            weight = -weight * 0.7
        if before and before[-1] in _INTENSIFIERS:
            weight *= _INTENSIFIERS[before[-1]]
        total += weight
        found.append(token)
    if shouting and total < 0:
        total *= 1.3
    # Squash to -1..1 (VADER's normalisation): long rants do not grow without bound.
    score = round(total / math.sqrt(total * total + 15), 3)
    label = "negative" if score < negative_below else "positive" if score > 0.35 else "neutral"
    return Sentiment(score, label, tuple(dict.fromkeys(found)))


# --- services ----------------------------------------------------------------------------------------


def affected_services(text: str, services: list[ServiceRule]) -> list[ServiceRule]:
    """The policy's services whose keywords occur in the text as whole words or phrases."""
    lowered = " ".join(_TOKEN.findall(text.lower().replace("\u2019", "'").replace("-", " ")))
    padded = f" {lowered} "
    hits = []
    for service in services:
        for keyword in service.keywords:
            normalised = " ".join(_TOKEN.findall(keyword.replace("-", " ")))
            if normalised and f" {normalised} " in padded:
                hits.append(service)
                break
    return hits


def ticket_text(subject: str, body: str) -> str:
    """Subject and first message as one text; a subject that merely repeats the body is left out."""
    subject, body = subject.strip(), body.strip()
    # "Callback: …", "Re: …": the part after a label prefix is what would repeat the body.
    core = subject.split(":", 1)[-1].strip() if ":" in subject[:20] else subject
    if not subject or body.startswith(subject.rstrip(".…")) or (core and body.startswith(core.rstrip(".…"))):
        return body
    return f"{subject}\n{body}"
