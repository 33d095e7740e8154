"""Knowledge search latency against 10,000 articles, and the rebuild cost of the in-memory index.

    nice -n 0 .venv/bin/python bench/kb_search.py --articles 10000 --queries 619

The knowledge base: the 100 StackFAQ articles (``data/stackfaq/kb.jsonl``) plus 9,900 synthetic
articles, each a StackFAQ title followed by 2 to 8 passages (of at most 60 words) drawn at random
(seed 0) from all StackFAQ articles' passages, so BM25 sees real vocabulary and real document lengths.
Embedding 50,000 new passages would take most of an hour on two shared cores and does not change the
cost of a query, so a synthetic passage reuses the embedding of the StackFAQ passage it copies (and its
title the embedding of the StackFAQ title). The 100 real articles are embedded exactly as
``relaydesk kb import`` embeds them.

Each query goes through ``knowledge.service.rank`` — the whole search path minus the once-a-second
generation check: query embedding (``embed_one``: ONNX Runtime, two intra-op threads), BM25 scores,
the dense scores (at this size a float32 product in a 128-dimensional principal subspace over every
passage and title, then the exact float16 product over the rows of the 200 articles that prefilter
best there), best passage per article (``np.maximum.reduceat``), features and the calibrated
probability for ten candidates, snippets. Queries are the 619 StackFAQ dev queries.
With ``--questions N`` (default 5) every article also has questions, as after ``kb calibrate``: a
StackFAQ article its answerable dev queries, a synthetic one N dev queries drawn at random; each
query is then scored against them without its own copy (``leave_out_question``, as ``kb evaluate``
does), so the questions model scores the candidates whose article has some.
Figures are per query, measured with ``time.perf_counter``, with CPU time beside them: the calling
thread's (``time.thread_time``) and the whole process's (``time.process_time``, which also counts
ONNX Runtime's second thread); CPU time is less disturbed by other processes on a shared machine.
The query embedding is also timed alone.
``--query-encoder`` sets ``RELAYDESK_KB_QUERY_ENCODER`` (``auto``: ONNX Runtime, float32), so
``--query-encoder fp32`` measures the torch float32 query path and ``int8`` the quantised ONNX one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "stackfaq"


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p90_ms": round(float(np.percentile(values, 90)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "mean_ms": round(float(np.mean(values)), 2),
    }


def build_bench_index(
    articles: int,
    queries_wanted: int,
    seed: int = 0,
    embedding_cache: Path | None = None,
    questions: int = 0,
) -> tuple[Any, list[str], dict[str, float]]:
    """The benchmark's index of ``articles`` articles, the dev queries, and how long building took."""
    from relaydesk.knowledge.index import (
        HybridIndex,
        IndexedArticle,
        passage_input,
        passages_for,
    )
    from relaydesk.ml.embeddings import embed

    rng = random.Random(seed)
    faq = [json.loads(line) for line in (DATA / "kb.jsonl").read_text().splitlines()]
    labelled = [json.loads(line) for line in (DATA / "dev_queries.jsonl").read_text().splitlines()]
    queries = [q["query"] for q in labelled][:queries_wanted]
    asked: dict[str, list[str]] = {}
    for q in labelled:
        if q["article_id"] is not None:
            asked.setdefault(q["article_id"], []).append(" ".join(q["query"].split()))
    every_query = [" ".join(q["query"].split()) for q in labelled]

    real: list[IndexedArticle] = []
    for number, item in enumerate(faq, start=1):
        passages, bm25_text = passages_for(item["title"], item["body"])
        own = tuple(asked.get(item["id"], [])) if questions else ()
        real.append(IndexedArticle(number, item["title"], "en", True, passages, bm25_text, own))
    pool = [p for article in real for p in article.passages]
    titles = [a.title for a in real]

    started = time.perf_counter()
    real_texts = sorted({passage_input(a.title, p) for a in real for p in (*a.passages, a.title)})
    pool_texts = sorted(set(pool))
    texts = (
        real_texts
        + pool_texts
        + (sorted(set(every_query) - set(real_texts) - set(pool_texts)) if questions else [])
    )
    cache = embedding_cache
    if cache is not None and cache.exists() and list(np.load(cache)["texts"]) == texts:
        vectors = np.load(cache)["vectors"]
    else:
        vectors = embed(list(texts))
        if cache is not None:
            np.savez(cache, texts=np.array(texts), vectors=vectors)
    by_text = dict(zip(texts, vectors, strict=True))
    embed_seconds = time.perf_counter() - started

    synthetic: list[IndexedArticle] = []
    source_title: dict[str, str] = {}
    for number in range(len(real) + 1, articles + 1):
        title = f"{rng.choice(titles)} #{number}"
        source_title[title] = title.rsplit(" #", 1)[0]
        passages = tuple(rng.sample(pool, rng.randint(2, 8)))
        asks = tuple(dict.fromkeys(rng.sample(every_query, questions)))
        text = f"{title}\n{title}\n" + "\n\n".join(passages)
        synthetic.append(IndexedArticle(number, title, "en", True, passages, text, asks))

    def lookup(requests: list[tuple[str, str, str]]) -> list[np.ndarray]:
        found = []
        for _, title, passage in requests:
            if title in source_title:  # synthetic: reuse its components' embeddings
                found.append(
                    by_text[passage_input(source_title[title], source_title[title])]
                    if not passage
                    else by_text[passage]
                )
            elif not title:  # a question, embedded alone
                found.append(by_text[passage])
            else:
                found.append(by_text[passage_input(title, passage or title)])
        return found

    started = time.perf_counter()
    index = HybridIndex.build(real + synthetic, vectors=lookup)
    build_seconds = time.perf_counter() - started

    return (
        index,
        queries,
        {"index_build_s": round(build_seconds, 2), "embedding_of_real_articles_s": round(embed_seconds, 1)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=619)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--embedding-cache", type=Path, help="npz file to reuse the real articles' embeddings between runs"
    )
    parser.add_argument(
        "--query-encoder", choices=["auto", "fp32", "int8"], help="RELAYDESK_KB_QUERY_ENCODER"
    )
    parser.add_argument("--questions", type=int, default=5, help="questions per synthetic article (0: none)")
    args = parser.parse_args()
    if args.query_encoder:
        os.environ["RELAYDESK_KB_QUERY_ENCODER"] = args.query_encoder

    from relaydesk.knowledge.calibration import default_calibration
    from relaydesk.knowledge.index import embed_query, search_query_encoder
    from relaydesk.knowledge.service import rank
    from relaydesk.knowledge.text import question_key
    from relaydesk.ml.embeddings import one_torch_thread

    index, queries, build_times = build_bench_index(
        args.articles, args.queries, args.seed, args.embedding_cache, args.questions
    )
    calibration = default_calibration()

    def search(query: str) -> Any:
        return rank(index, calibration, query, leave_out_question=question_key(query))

    for query in queries[:20]:  # warm up caches and the allocator
        search(query)
    total, total_cpu, total_process_cpu, embedding, embedding_cpu, embedding_process_cpu = (
        [],
        [],
        [],
        [],
        [],
        [],
    )
    abstained = 0
    for query in queries:
        cpu_started, process_started = time.thread_time(), time.process_time()
        result = search(query)
        total_cpu.append((time.thread_time() - cpu_started) * 1000)
        total_process_cpu.append((time.process_time() - process_started) * 1000)
        total.append(result.took_ms)
        abstained += result.abstained
        started, cpu_started, process_started = time.perf_counter(), time.thread_time(), time.process_time()
        with one_torch_thread():
            embed_query(query)
        embedding.append((time.perf_counter() - started) * 1000)
        embedding_process_cpu.append((time.process_time() - process_started) * 1000)
        # CPU time of this thread: what the encoder costs, without the waits other processes cause.
        embedding_cpu.append((time.thread_time() - cpu_started) * 1000)

    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    report = {
        "articles": len(index),
        "passages": len(index.passage_texts),
        "questions": len(index.question_keys),
        "queries": len(queries),
        "search": percentiles(total),
        "search_cpu_time": percentiles(total_cpu),
        "search_process_cpu_time": percentiles(total_process_cpu),
        "query_embedding_only": percentiles(embedding),
        "query_embedding_cpu_time": percentiles(embedding_cpu),
        "query_embedding_process_cpu_time": percentiles(embedding_process_cpu),
        "query_encoder": search_query_encoder(),
        "abstained_share": round(abstained / len(queries), 3),
        **build_times,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} at the end",
        "python": sys.version.split()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
