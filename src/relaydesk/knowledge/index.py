"""The in-memory hybrid search index: BM25 over articles plus sentence embeddings of their passages.

One ``HybridIndex`` is an immutable snapshot of the published articles; ``cache.IndexCache`` decides
when a process builds a new one and where the passage vectors come from. ``features_for_query`` is
the query side: embed the query, pick the candidates, compute their features (``features.py``).

Scoring one query never loops over articles in Python: one matrix-vector product for the passages and
titles, ``np.maximum.reduceat`` for each article's best passage, one BM25 score vector, then features
and the calibrated probability for a handful of candidates only. From ``COARSE_MIN_ARTICLES`` articles
the product runs in a 128-dimensional principal subspace first and exactly only for the rows of the
200 articles that prefilter best there.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from relaydesk.knowledge.enums import Visibility
from relaydesk.knowledge.features import Candidate, candidate_features
from relaydesk.knowledge.spelling import Speller
from relaydesk.knowledge.text import plain_text, question_key, split_passages, tokenize
from relaydesk.ml.embeddings import default_model_path, embed_one, one_torch_thread, query_encoder

if TYPE_CHECKING:
    import bm25s

    from relaydesk.knowledge.models import Article

__all__ = [
    "CANDIDATES",
    "HybridIndex",
    "IndexedArticle",
    "embed_query",
    "embedding_model_id",
    "embedding_requests",
    "features_for_query",
    "indexed_article",
    "passage_input",
    "passages_for",
    "search_query_encoder",
    "to_indexed",
]

FloatArray = npt.NDArray[np.float32]
# How many articles per query get features and a calibrated probability (the rest cannot win).
CANDIDATES = 10
# From this many articles a query scores every passage and title first in a reduced space (the top
# COARSE_DIMS principal directions of the index's vectors, float32 laid out for a fast product), keeps
# the COARSE_KEEP articles that prefilter best there, and scores only their rows exactly. On the
# 10,000-article benchmark (60,000 rows) that is 1.8 ms instead of 7.4 ms, and the exact top 10 of all
# 619 StackFAQ dev queries stay within the kept 200 (also within 100: docs/benchmarks.md).
COARSE_MIN_ARTICLES = 2000
COARSE_DIMS = 128
COARSE_KEEP = 200


@dataclass(frozen=True)
class IndexedArticle:
    """What the index needs of one published article."""

    id: int
    title: str
    locale: str
    public: bool
    passages: tuple[str, ...]  # plain text, at least one (the title when the body is empty)
    bm25_text: str
    # Other ways customers ask what it answers (``Article.questions``), embedded as queries are.
    questions: tuple[str, ...] = ()


def passages_for(title: str, body: str) -> tuple[tuple[str, ...], str]:
    """An article's passages and the text BM25 indexes (the title counts twice: it states the question)."""
    text = plain_text(body)
    passages = tuple(split_passages(text)) or (title,)
    return passages, f"{title}\n{title}\n{text}"


def _embedding_key(model_id: str, title: str, passage: str) -> str:
    return hashlib.sha256(f"{model_id}\x1f{title}\x1f{passage}".encode()).hexdigest()


def passage_input(title: str, passage: str) -> str:
    """The text the encoder embeds for one of an article's passages (or its title, or a question)."""
    # The title gives a passage its context ("it", "this setting") for the sentence encoder; a question
    # (no title) is embedded alone, as a customer's query is.
    if not title:
        return passage
    return f"{title}. {passage}" if passage != title else title


def _question_request(model_id: str, question: str) -> tuple[str, str, str]:
    """The (cache key, title, passage) embedding request of one of an article's questions."""
    key = hashlib.sha256(f"{model_id}\x1equestion\x1f{question}".encode()).hexdigest()
    return key, "", question


def embedding_requests(model_id: str, article: IndexedArticle) -> list[tuple[str, str, str]]:
    """Every embedding an article needs: its passages, its title, then its questions."""
    requests = [(_embedding_key(model_id, article.title, p), article.title, p) for p in article.passages]
    requests.append((_embedding_key(model_id, article.title, ""), article.title, ""))
    requests.extend(_question_request(model_id, q) for q in article.questions)
    return requests


def _search_setting() -> str | None:
    return os.environ.get("RELAYDESK_KB_QUERY_ENCODER", "").strip() or None


def search_query_encoder() -> str:
    """What embeds a search query: ``RELAYDESK_KB_QUERY_ENCODER`` if set, else ``RELAYDESK_QUERY_ENCODER``
    (``onnx``, ``int8`` or ``fp32``: see ``relaydesk.ml.embeddings.query_encoder``)."""
    setting = _search_setting()
    return query_encoder(setting, variable="RELAYDESK_KB_QUERY_ENCODER") if setting else query_encoder()


def embed_query(text: str) -> FloatArray:
    """One query through the one-text encoder, ``relaydesk.ml.embeddings.embed_one``.

    ONNX Runtime by default (the float32 model, cosine >= 0.9999 with the passage vectors' encoder);
    ``int8`` trades some abstention quality for a faster query on a CPU without AVX512 (ml/README.md);
    ``fp32`` runs torch instead (then call inside ``one_torch_thread``).
    """
    return embed_one(text, encoder=_search_setting())


def embedding_model_id() -> str:
    """Which model the vectors come from (part of every embedding's cache key)."""
    return str(default_model_path())


@dataclass
class HybridIndex:
    """An immutable snapshot: arrays over the published articles and their passages."""

    key: tuple[int, datetime | None]
    article_ids: npt.NDArray[np.int64]
    titles: list[str]
    locales: npt.NDArray[np.str_]
    public: npt.NDArray[np.bool_]
    passage_texts: list[str]
    passage_starts: npt.NDArray[np.intp]  # first passage row of each article; rows are contiguous
    # Every passage's embedding, then every title's (L2-normalised rows). From COARSE_MIN_ARTICLES one
    # float16 torch matrix: half precision halves the memory a query streams through; torch's CPU
    # kernel for it was 2x faster than numpy's float32 product in bench/kb_search.py, and cosines keep
    # ~3 decimals. Below, a float32 numpy array (``_products``): a few thousand rows take a fraction of
    # a millisecond either way, and a process that only serves a small knowledge base never imports
    # torch (about 2 s of a core on every start, see docs/benchmarks.md "Start-up").
    dense: Any
    bm25: bm25s.BM25 | None
    # The coarse first stage of large indexes (see COARSE_KEEP): a (dims, COARSE_DIMS) projection and
    # a float32 torch (COARSE_DIMS, rows) matrix of every row projected; None below COARSE_MIN_ARTICLES.
    coarse_basis: FloatArray | None = None
    coarse: Any = None
    # Every article's questions: float16 unit vectors (rows of one article contiguous, from
    # ``question_starts[i]`` for ``question_counts[i]`` rows) and their ``question_key``s.
    question_vectors: npt.NDArray[np.float16] = field(default_factory=lambda: np.zeros((0, 384), np.float16))
    question_starts: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    question_counts: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    question_keys: list[str] = field(default_factory=list)
    # Every article's title, passages and questions: the vocabulary typo tolerance corrects towards.
    vocabulary_texts: list[str] = field(default_factory=list, repr=False)
    _position: dict[int, int] = field(default_factory=dict, repr=False)
    _speller: Speller | None = field(default=None, repr=False)
    _speller_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._position = {int(a): i for i, a in enumerate(self.article_ids)}

    def __len__(self) -> int:
        return len(self.article_ids)

    def speller(self) -> Speller:
        """The index's spelling corrector, built on first use (most snapshots never need it: it is
        the fallback of a query that abstained)."""
        with self._speller_lock:
            if self._speller is None:
                self._speller = Speller.from_texts(self.vocabulary_texts)
            return self._speller

    @classmethod
    def build(
        cls,
        articles: Sequence[IndexedArticle],
        *,
        key: tuple[int, datetime | None] = (0, None),
        vectors: Callable[[list[tuple[str, str, str]]], list[FloatArray]],
    ) -> HybridIndex:
        """Build from articles; ``vectors`` maps (cache key, title, passage) triples to embeddings."""
        import bm25s  # loaded when an index is built, not with relaydesk

        model_id = embedding_model_id()
        requests: list[tuple[str, str, str]] = []
        starts: list[int] = []
        passage_texts: list[str] = []
        for article in articles:
            starts.append(len(passage_texts))
            passage_texts.extend(article.passages)
            requests.extend(embedding_requests(model_id, article))
        found = vectors(requests)
        passage_rows: list[FloatArray] = []
        title_rows: list[FloatArray] = []
        question_rows: list[FloatArray] = []
        question_starts: list[int] = []
        cursor = 0
        for article in articles:
            passage_rows.extend(found[cursor : cursor + len(article.passages)])
            cursor += len(article.passages)
            title_rows.append(found[cursor])
            cursor += 1
            question_starts.append(len(question_rows))
            question_rows.extend(found[cursor : cursor + len(article.questions)])
            cursor += len(article.questions)
        dims = found[0].shape[0] if found else 384
        rows = passage_rows + title_rows
        matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dims), dtype=np.float32)
        large = len(articles) >= COARSE_MIN_ARTICLES
        basis, coarse = _coarse_space(matrix) if large else (None, None)
        retriever: bm25s.BM25 | None = None
        if articles:
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            corpus = [tokenize(a.bm25_text) or ["\x00empty"] for a in articles]
            retriever.index(corpus, show_progress=False)
        return cls(
            key=key,
            article_ids=np.array([a.id for a in articles], dtype=np.int64),
            titles=[a.title for a in articles],
            locales=np.array([a.locale for a in articles], dtype=np.str_),
            public=np.array([a.public for a in articles], dtype=np.bool_),
            passage_texts=passage_texts,
            passage_starts=np.array(starts, dtype=np.intp),
            dense=_half_precision(matrix) if large else np.ascontiguousarray(matrix),
            bm25=retriever,
            coarse_basis=basis,
            coarse=coarse,
            question_vectors=_unit_rows(question_rows, dims),
            question_starts=np.array(question_starts, dtype=np.intp),
            question_counts=np.array([len(a.questions) for a in articles], dtype=np.intp),
            question_keys=[question_key(q) for a in articles for q in a.questions],
            vocabulary_texts=[" ".join((a.title, *a.passages, *a.questions)) for a in articles],
        )

    def visible_mask(self, *, public_only: bool, locale: str | None) -> npt.NDArray[np.bool_]:
        mask = self.public.copy() if public_only else np.ones(len(self), dtype=np.bool_)
        if locale:
            language = locale.lower().split("-")[0]
            exact = self.locales == locale.lower()
            same_language = np.char.startswith(self.locales, language)
            mask &= exact | same_language
        return mask

    @property
    def on_torch(self) -> bool:
        """Whether a query's products run in torch (a large index): then call with one torch thread."""
        return not isinstance(self.dense, np.ndarray)

    def dense_matrix(self) -> FloatArray:
        """The passage and title rows as a float32 numpy array (for evaluation)."""
        if self.on_torch:
            return np.asarray(self.dense.float().numpy(), dtype=np.float32)
        return np.asarray(self.dense, dtype=np.float32)

    def dense_scores(self, query_vector: FloatArray) -> FloatArray:
        """Cosine of the query with every passage, then every title (see ``on_torch``)."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.float32)
        if not self.on_torch:
            return _products(self.dense, query_vector)
        import torch  # seconds to import: loaded on first use, not with relaydesk

        query = torch.from_numpy(np.ascontiguousarray(query_vector, dtype=np.float32)).to(torch.float16)
        scores: FloatArray = (self.dense @ query).float().numpy()
        return scores

    def candidates(
        self, dense_scores: FloatArray, query_tokens: list[str], mask: npt.NDArray[np.bool_], k: int
    ) -> list[Candidate]:
        """The ``k`` visible articles most likely to answer, with their raw signals (exact scores)."""
        if len(self) == 0 or not mask.any():
            return []
        passages = len(self.passage_texts)
        passage_scores = dense_scores[:passages]
        dense_best = np.maximum.reduceat(passage_scores, self.passage_starts)
        bm25, top_bm25 = self._bm25(query_tokens, mask)
        positions = np.flatnonzero(mask)
        ends = np.append(self.passage_starts[1:], passages)
        return self._pick(
            positions,
            dense_best[positions],
            dense_scores[passages:][positions],
            bm25,
            top_bm25,
            k,
            passage_scores,
            self.passage_starts[positions],
            ends[positions],
            self.passage_starts[positions],
        )

    def search_candidates(
        self, query_vector: FloatArray, query_tokens: list[str], mask: npt.NDArray[np.bool_], k: int
    ) -> list[Candidate]:
        """``candidates`` for a query vector: exact scores for all rows, or the coarse first stage and
        exact scores for the rows of the articles it keeps (call with one torch thread)."""
        if self.coarse is None or self.coarse_basis is None or int(mask.sum()) <= COARSE_KEEP:
            return self.candidates(self.dense_scores(query_vector), query_tokens, mask, k)
        import torch  # seconds to import: loaded on first use, not with relaydesk

        passages = len(self.passage_texts)
        query = np.ascontiguousarray(query_vector, dtype=np.float32)
        reduced = torch.from_numpy(query @ self.coarse_basis)[None, :]
        approx: FloatArray = (reduced @ self.coarse).numpy()[0]
        bm25, top_bm25 = self._bm25(query_tokens, mask)
        prefilter = _prefilter(
            np.maximum.reduceat(approx[:passages], self.passage_starts), approx[passages:], bm25, top_bm25
        )
        prefilter = np.where(mask, prefilter, -np.inf)
        kept = np.argpartition(-prefilter, COARSE_KEEP - 1)[:COARSE_KEEP]
        # The kept articles' passage rows, then their title rows, scored exactly (as ``dense_scores``).
        starts = self.passage_starts[kept]
        counts = np.append(self.passage_starts[1:], passages)[kept] - starts
        local_starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rows = np.repeat(starts - local_starts, counts) + np.arange(int(counts.sum()))
        rows = np.concatenate([rows, passages + kept])
        exact = self._dense_rows(rows, query)
        passage_scores = exact[: len(rows) - len(kept)]
        return self._pick(
            kept,
            np.maximum.reduceat(passage_scores, local_starts),
            exact[len(rows) - len(kept) :],
            bm25,
            top_bm25,
            k,
            passage_scores,
            local_starts,
            local_starts + counts,
            starts,
        )

    def _dense_rows(self, rows: npt.NDArray[np.intp], query: FloatArray) -> FloatArray:
        """``dense_scores`` of some rows only (the same product, so the same values)."""
        if not self.on_torch:
            return _products(self.dense[rows], query)
        import torch  # seconds to import: loaded on first use, not with relaydesk

        picked = torch.index_select(self.dense, 0, torch.from_numpy(rows))
        scores: FloatArray = (picked @ torch.from_numpy(query).to(torch.float16)).float().numpy()
        return scores

    def _bm25(self, query_tokens: list[str], mask: npt.NDArray[np.bool_]) -> tuple[FloatArray, float]:
        """BM25 of every article and the best visible one's (what ``bm25_rel`` is relative to)."""
        if self.bm25 is not None and query_tokens:
            bm25 = np.asarray(self.bm25.get_scores(query_tokens), dtype=np.float32)
        else:
            bm25 = np.zeros(len(self), dtype=np.float32)
        return bm25, float(bm25[mask].max()) if mask.any() else 0.0

    def _pick(
        self,
        positions: npt.NDArray[np.intp],
        dense_best: FloatArray,
        dense_title: FloatArray,
        bm25: FloatArray,
        top_bm25: float,
        k: int,
        passage_scores: FloatArray,
        score_starts: npt.NDArray[np.intp],
        score_ends: npt.NDArray[np.intp],
        passage_rows: npt.NDArray[np.intp],
    ) -> list[Candidate]:
        """The ``k`` best of ``positions`` by the prefilter; ``dense_*`` follow ``positions``, and the
        passage scores of ``positions[j]`` are ``passage_scores[score_starts[j]:score_ends[j]]``, the
        first of them global passage row ``passage_rows[j]``."""
        prefilter = _prefilter(dense_best, dense_title, bm25[positions], top_bm25)
        k = min(k, len(positions))
        top = np.argpartition(-prefilter, k - 1)[:k]
        # Ties (articles with the same passages) go to the lower position, whichever path found them.
        top = np.flatnonzero(prefilter >= prefilter[top].min())
        top = top[np.lexsort((positions[top], -prefilter[top]))][:k]
        result = []
        for j in top:
            start, end = int(score_starts[j]), int(score_ends[j])
            position = int(positions[j])
            result.append(
                Candidate(
                    position=position,
                    dense_best=float(dense_best[j]),
                    dense_title=float(dense_title[j]),
                    bm25=float(bm25[position]),
                    best_passage=int(passage_rows[j]) + int(np.argmax(passage_scores[start:end])),
                )
            )
        return result

    def question_similarities(
        self, query_vector: FloatArray, candidates: Sequence[Candidate], *, leave_out: str | None = None
    ) -> list[tuple[FloatArray, list[str]]]:
        """Per candidate: the query's cosine with each of its article's questions, and their keys.

        ``leave_out``: a question key not to count (an evaluated query's own copy among the questions).
        """
        query = np.asarray(query_vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        result = []
        for candidate in candidates:
            start = int(self.question_starts[candidate.position]) if len(self.question_starts) else 0
            count = int(self.question_counts[candidate.position]) if len(self.question_counts) else 0
            keys = self.question_keys[start : start + count]
            scores = self.question_vectors[start : start + count].astype(np.float32) @ query
            if leave_out is not None and leave_out in keys:
                kept = [j for j, key in enumerate(keys) if key != leave_out]
                scores, keys = scores[kept], [keys[j] for j in kept]
            result.append((scores, keys))
        return result

    def article_at(self, position: int) -> tuple[int, str]:
        return int(self.article_ids[position]), self.titles[position]

    def contains(self, article_id: int) -> bool:
        return article_id in self._position


def _prefilter(
    dense_best: FloatArray, dense_title: FloatArray, bm25: FloatArray, top_bm25: float
) -> FloatArray:
    # A cheap prefilter only: the calibrated model re-ranks the candidates it keeps.
    bm25_rel = bm25 / top_bm25 if top_bm25 > 0 else bm25
    prefilter: FloatArray = np.maximum(dense_best, dense_title) + 0.25 * bm25_rel
    return prefilter


def _unit_rows(rows: Sequence[FloatArray], dims: int) -> npt.NDArray[np.float16]:
    if not rows:
        return np.zeros((0, dims), dtype=np.float16)
    matrix = np.vstack(rows).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix.astype(np.float16)


def _half_precision(matrix: FloatArray) -> Any:
    """A large index's rows as one float16 torch matrix (see ``HybridIndex.dense``)."""
    import torch  # seconds to import: loaded on first use, not with relaydesk

    return torch.from_numpy(matrix).to(torch.float16).contiguous()


def _products(matrix: FloatArray, query: FloatArray) -> FloatArray:
    """``matrix @ query`` for a small index, in numpy's own loop on the calling thread: BLAS spreads
    a matrix-vector product of a few thousand rows over threads that, on a busy 2-core machine, wait
    tens of milliseconds for a core (p90 50 ms against 0.3 ms at 2,000 rows, docs/benchmarks.md)."""
    scores: FloatArray = np.einsum("ij,j->i", matrix, np.ascontiguousarray(query, dtype=np.float32))
    return scores


def _coarse_space(matrix: FloatArray) -> tuple[FloatArray, Any]:
    """The index rows' top principal directions (uncentred: they keep dot products) and the rows in them.

    The projected matrix is stored transposed, (dims, rows): torch's float32 product of a row vector
    with it streams each dimension once, 4x cheaper than the float16 matrix-vector product per byte.
    """
    import torch  # seconds to import: loaded on first use, not with relaydesk

    dims = min(COARSE_DIMS, matrix.shape[1])
    moment = (matrix.T @ matrix).astype(np.float64)
    _, vectors = np.linalg.eigh(moment)  # ascending eigenvalues
    basis = np.ascontiguousarray(vectors[:, ::-1][:, :dims], dtype=np.float32)
    return basis, torch.from_numpy(np.ascontiguousarray((matrix @ basis).T))


def indexed_article(
    article_id: int, title: str, body: str, locale: str, visibility: Visibility, questions: Sequence[str]
) -> IndexedArticle:
    """What the index needs of one article, from its stored fields."""
    passages, bm25_text = passages_for(title, body)
    return IndexedArticle(
        id=article_id,
        title=title,
        locale=locale,
        public=visibility == Visibility.PUBLIC,
        passages=passages,
        bm25_text=bm25_text,
        questions=tuple(questions or ()),
    )


def to_indexed(article: Article) -> IndexedArticle:
    return indexed_article(
        article.id, article.title, article.body, article.locale, article.visibility, article.questions
    )


def features_for_query(
    index: HybridIndex, query: str, *, public_only: bool, locale: str | None, k: int = CANDIDATES
) -> tuple[list[Candidate], npt.NDArray[np.float64], FloatArray]:
    """Embed the query, pick candidates and compute their features (shared by search and calibration);
    the query's vector comes back too, for ``HybridIndex.question_similarities``."""
    # ONNX Runtime needs no torch thread (and holding the lock would queue other searches behind it).
    with one_torch_thread() if search_query_encoder() == "fp32" else nullcontext():
        vector = embed_query(query)
    tokens = tokenize(query)
    mask = index.visible_mask(public_only=public_only, locale=locale)
    with one_torch_thread() if index.on_torch else nullcontext():
        candidates = index.search_candidates(vector, tokens, mask, k)
    return candidates, candidate_features(candidates), vector
