"""Training data for the triage heads, and training through the classification registry.

Three sources, counted separately in every data summary:

- ``import``: labelled history from files (``relaydesk triage import``), kept in the database;
- ``resolved_ticket``: Relaydesk's own resolved and closed tickets, labelled with the category, team
  and priority agents settled on;
- ``agent_correction``: tickets whose category an agent set or changed (``triage_corrections``), open
  or not — the most direct evidence of where the model is wrong.

A ticket counts once (as a correction if it has one); the text is its subject and first message.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.classification import service as classification
from relaydesk.tickets import service as tickets
from relaydesk.triage.datasets import DatasetError, Example
from relaydesk.triage.models import TrainingExample
from relaydesk.triage.policy import HEADS
from relaydesk.triage.repository import TriageRepository
from relaydesk.triage.signals import ticket_text

if TYPE_CHECKING:
    from relaydesk.classification.models import ModelVersion
    from relaydesk.classification.service import TrainingOptions

__all__ = [
    "MAX_TICKET_EXAMPLES",
    "StoreSummary",
    "TrainingSet",
    "register_sources",
    "store_examples",
    "ticket_training_set",
    "train_head",
    "training_set",
]

MAX_TICKET_EXAMPLES = 50_000


@dataclass(frozen=True)
class StoreSummary:
    added: int
    duplicates: int  # the same text and label already stored (or twice in the file)


@dataclass
class TrainingSet:
    head: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, label: str, source: str) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.sources[source] += 1

    def summary(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "examples": len(self.texts),
            "by_source": dict(sorted(self.sources.items())),
            "labels": dict(sorted(Counter(self.labels).items())),
        }


def _sha(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


def _check_head(head: str) -> None:
    if head not in HEADS:
        raise DatasetError(f"unknown head {head!r}; triage trains {', '.join(HEADS)}")


def store_examples(
    session: Session, head: str, examples: list[Example], *, source: str = "import"
) -> StoreSummary:
    """Keep imported examples for ``head``; an identical (text, label) pair is stored once."""
    _check_head(head)
    seen = TriageRepository(session).imported_hashes(head)
    added = 0
    for example in examples:
        key = (_sha(example.text), example.label)
        if key in seen:
            continue
        seen.add(key)
        session.add(
            TrainingExample(
                head=head,
                text=example.text,
                text_sha256=key[0],
                label=example.label,
                source=source,
                origin=example.origin[:500],
            )
        )
        added += 1
    session.flush()
    return StoreSummary(added=added, duplicates=len(examples) - added)


def ticket_training_set(session: Session, head: str) -> TrainingSet:
    """Resolved/closed tickets and agent corrections, labelled with what the agents settled on."""
    _check_head(head)
    result = TrainingSet(head)
    team_names = {team.id: team.name for team in agents.list_teams(session)} if head == "team" else {}
    # The newest resolved/closed tickets with a value for the head, plus any ticket an agent corrected;
    # the text is the ticket's subject and first customer message: what triage saw when it decided.
    corrected = TriageRepository(session).corrected_ticket_ids(head)
    settled = tickets.settled_tickets(session, head, also_ticket_ids=corrected, limit=MAX_TICKET_EXAMPLES)
    for ticket in settled:
        label = team_names.get(int(ticket.value)) if head == "team" else ticket.value
        if label:
            text = ticket_text(ticket.subject, ticket.first_message)
            result.add(text, label, "agent_correction" if ticket.listed else "resolved_ticket")
    return result


def training_set(session: Session, head: str, *, imports: bool = True, tickets: bool = True) -> TrainingSet:
    result = ticket_training_set(session, head) if tickets else TrainingSet(head)
    if imports:
        for example in TriageRepository(session).imported_examples(head):
            result.add(example.text, example.label, "import")
    return result


def train_head(
    session: Session,
    data: TrainingSet,
    *,
    source: str,
    activate: bool = False,
    options: TrainingOptions | None = None,
) -> ModelVersion:
    """Train and register a version for the head through the classification registry.

    ``options``: the classifier's recipe (None: the installation's default, the full one).
    """
    # The registry records the summary it computes; the by-source counts go into the source text.
    counts = ", ".join(f"{k}={v}" for k, v in sorted(data.sources.items()))
    return classification.train_version(
        session,
        data.head,
        data.texts,
        data.labels,
        source=f"{source} ({counts})"[:200],
        activate=activate,
        options=options,
    )


def register_sources() -> None:
    """Scheduled retraining of each triage head reads imports, resolved tickets and corrections."""
    for head in HEADS:

        def source(session: Session, head: str = head) -> tuple[list[str], list[str]]:
            data = training_set(session, head)
            return data.texts, data.labels

        classification.register_training_source(head, source, name=f"triage:{head}")
