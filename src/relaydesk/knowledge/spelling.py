"""Typo tolerance: correct a query's misspelt words to words the knowledge base uses.

Search falls back to it only when a query abstains (``service.rank``), so a query search already
answers is scored exactly as before. A word is corrected when it is not in the index's vocabulary and
one vocabulary word is one edit away from it (an insertion, a deletion, a substitution, or two
neighbours swapped: "retrun" → "return", "bots" → "boots"); among several, the one most articles use
wins. Candidates come from symmetric deletes (SymSpell): every vocabulary word and every query word
minus one letter meet in a dictionary, so no query scans the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from relaydesk.knowledge.text import is_stopword

__all__ = ["MIN_WORD", "Speller"]

# Shorter words have too many one-edit neighbours ("cat": car, cart, hat...) to correct safely.
MIN_WORD = 4
_WORD = re.compile(r"[^\W\d_]+")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of exactly one (adjacent transposition included)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass
class Speller:
    """The vocabulary of a set of texts (how many texts use each word) and its delete dictionary."""

    frequency: Counter[str] = field(default_factory=Counter)
    _by_delete: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Speller:
        frequency: Counter[str] = Counter()
        for text in texts:
            frequency.update({w for w in _WORD.findall(text.casefold())})
        speller = cls(frequency=frequency)
        for word in frequency:
            if len(word) >= MIN_WORD - 1:
                for key in _deletes(word) | {word}:
                    speller._by_delete.setdefault(key, []).append(word)
        return speller

    def correct_word(self, word: str) -> str | None:
        """The vocabulary word one edit away from ``word`` that most texts use; None when ``word`` is
        known, too short, a stopword, or has no such neighbour."""
        lowered = word.casefold()
        if len(lowered) < MIN_WORD or lowered in self.frequency or is_stopword(lowered):
            return None
        found = {c for key in _deletes(lowered) | {lowered} for c in self._by_delete.get(key, ())}
        close = [c for c in found if _one_edit(lowered, c)]
        if not close:
            return None
        return min(close, key=lambda c: (-self.frequency[c], c))

    def correct(self, query: str) -> str:
        """The query with each misspelt word replaced (the rest kept as typed)."""
        return _WORD.sub(lambda m: self.correct_word(m.group(0)) or m.group(0), query)
