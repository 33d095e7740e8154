"""The search index built in a read-only unit of work stores its passage embeddings while the worker writes.

What ``scripts/demo`` logged on its first start ("could not store 61 passage embeddings (database is
locked)"): the start-up warm-up embedded the seeded articles in a read-only transaction and wrote the
cache rows from it, after the in-process worker had written; SQLite refuses that upgrade at once.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, text

from relaydesk.jobs import enqueue
from relaydesk.knowledge import service
from relaydesk.knowledge.cache import IndexCache
from relaydesk.knowledge.models import PassageEmbedding
from relaydesk.knowledge.transfer import ArticleRecord, ImportReport, import_records


def _stored(database) -> int:
    with database.transaction(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(PassageEmbedding)) or 0


def test_an_index_built_while_the_worker_writes_stores_every_passage_embedding(database, caplog):
    records = [
        ArticleRecord(id="gift-cards", title="Gift cards", body="Gift cards never expire.\n\nUse them."),
        ArticleRecord(id="returns", title="Returns", body="Send unworn items back within 30 days."),
    ]
    with database.transaction() as session:  # as the demo seed imports: embeddings left to the first search
        import_records(session, records, service.Editor(label="test"), ImportReport(), warm=False)
    assert _stored(database) == 0

    cache = IndexCache(check_seconds=0.0)  # a process that has embedded nothing yet
    with caplog.at_level(logging.WARNING, logger="relaydesk.knowledge"):  # noqa: SIM117
        with database.transaction(read_only=True) as session:
            session.execute(text("SELECT count(*) FROM kb_passage_embeddings")).all()  # the snapshot begins
            with database.transaction() as worker:  # the worker commits a job meanwhile
                enqueue(worker, "tests.something_else")
            index = cache.get(session)

    assert len(index) == 2
    assert not [r for r in caplog.records if "could not store" in r.getMessage()]
    assert _stored(database) == len(index.passage_texts) + 2  # every passage and each title
