"""Freshness of the search index: when a process rebuilds its in-memory index, and where vectors come from.

``IndexCache`` keeps one ``HybridIndex`` per database per process and swaps in a new snapshot when the
database's index generation changed (every article write bumps it in its own transaction), checking at
most once per ``check_seconds``; while one thread rebuilds, the others keep answering from the previous
snapshot. Passage embeddings come from this process's memory, then the ``kb_passage_embeddings`` table
(keyed by a hash of model and text), then the model: a process starting up or rebuilding only embeds
passages no process has embedded before, and a writer stores the vectors of what it saved.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from relaydesk.db import write_beside
from relaydesk.knowledge import repository
from relaydesk.knowledge.index import (
    FloatArray,
    HybridIndex,
    IndexedArticle,
    embedding_model_id,
    embedding_requests,
    indexed_article,
    passage_input,
)
from relaydesk.ml.embeddings import embed

__all__ = ["IndexCache", "index_cache", "load_published"]

log = logging.getLogger(__name__)


class IndexCache:
    """The process's index for each database, refreshed when the database's generation moves."""

    def __init__(self, *, check_seconds: float = 1.0) -> None:
        self.check_seconds = check_seconds
        self._indexes: dict[str, HybridIndex] = {}
        self._checked_at: dict[str, float] = {}
        self._vectors: dict[str, FloatArray] = {}  # passage embeddings this process already has
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Check the generation on the next search (this process just changed an article)."""
        self._checked_at.clear()

    def get(self, session: Session) -> HybridIndex:
        url = str(session.get_bind().engine.url)
        now = time.monotonic()
        index = self._indexes.get(url)
        if index is not None and now - self._checked_at.get(url, -math.inf) < self.check_seconds:
            return index
        key = repository.index_generation(session)
        self._checked_at[url] = now
        if index is not None and index.key == key:
            return index
        # While one thread rebuilds, the others keep answering from the previous snapshot.
        if not self._lock.acquire(blocking=index is None):
            assert index is not None
            return index
        try:
            index = self._indexes.get(url)
            if index is None or index.key != key:
                started = time.perf_counter()
                index = self._build(session, key)
                self._indexes[url] = index
                log.info(
                    "knowledge index rebuilt: %d articles, %d passages in %.0f ms",
                    len(index),
                    len(index.passage_texts),
                    (time.perf_counter() - started) * 1000,
                )
        finally:
            self._lock.release()
        return index

    def _build(self, session: Session, key: tuple[int, datetime | None]) -> HybridIndex:
        articles = load_published(session)
        return HybridIndex.build(articles, key=key, vectors=lambda reqs: self.vectors(session, reqs))

    def vectors(
        self, session: Session, requests: list[tuple[str, str, str]], *, writer: bool = False
    ) -> list[FloatArray]:
        """Embeddings for (key, title, passage): this process's memory, then the database, then the model.

        ``writer``: the caller is saving these articles, so every vector must end up in the database
        cache, including those this process already held in memory (for other processes' sake).
        """
        keys = [r[0] for r in requests]
        missing = [r for r in requests if r[0] not in self._vectors]
        in_database: set[str] = set()
        if missing or writer:
            stored = repository.load_embeddings(session, keys if writer else [r[0] for r in missing])
            in_database = set(stored)
            for content_hash, blob in stored.items():
                if content_hash not in self._vectors:
                    self._vectors[content_hash] = np.frombuffer(blob, dtype="<f4").copy()
        todo = {r[0]: r for r in requests if r[0] not in self._vectors}
        if todo:
            items = list(todo.values())
            computed = embed([passage_input(title, p or title) for _, title, p in items])
            for (content_hash, _, _), vector in zip(items, computed, strict=True):
                self._vectors[content_hash] = vector
        unsaved = (set(keys) - in_database) if writer else set(todo)
        if unsaved:
            vectors = {k: self._vectors[k].astype("<f4").tobytes() for k in unsaved}
            _save_quietly(session, vectors, int(self._vectors[next(iter(unsaved))].shape[0]))
        if not writer and len(self._vectors) > 2 * len(keys) + 1000:
            # Forget vectors of passages that no longer exist, so memory follows the knowledge base.
            wanted = set(keys)
            self._vectors = {k: v for k, v in self._vectors.items() if k in wanted}
        return [self._vectors[k] for k in keys]

    def warm(self, session: Session, articles: Sequence[IndexedArticle]) -> None:
        """Embed and store the passages of articles just written, in the writer's transaction."""
        model_id = embedding_model_id()
        requests = [request for article in articles for request in embedding_requests(model_id, article)]
        self.vectors(session, requests, writer=True)


def _save_quietly(session: Session, vectors: dict[str, bytes], dims: int) -> None:
    # The cache is an optimisation: a failed write must not fail a search. A search in a read-only
    # unit of work (the start-up warm-up, help-center pages) stores beside it, waiting its turn behind
    # the worker; a writer's vectors commit with the articles it saves.
    try:
        with write_beside(session) as writer:
            repository.save_embeddings(writer, vectors, dims)
    except Exception as exc:
        # One line: the driver's reason, not the statement with every row's vector bound into it.
        reason = getattr(exc, "orig", None) or exc
        log.warning(
            "could not store %d passage embeddings (%s: %s); this process keeps them, others recompute them",
            len(vectors),
            type(reason).__name__,
            reason,
        )


def load_published(session: Session) -> list[IndexedArticle]:
    """What the index holds of every published article, in id order."""
    return [indexed_article(*row) for row in repository.published_for_index(session)]


index_cache = IndexCache()
