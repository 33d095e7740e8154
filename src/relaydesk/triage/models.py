"""Tables of the triage domain: what triage decided per ticket, imported history, agent corrections, and
the state of the missing-information loop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType
from relaydesk.kit.time import utcnow

__all__ = ["MissingInfoRequest", "TicketTriage", "TrainingExample", "TriageCorrection"]


class TicketTriage(IdMixin, Base):
    """One row per triaged ticket: written once, from the ticket's first customer message."""

    __tablename__ = "ticket_triage"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # A copy of the reporting customer, so impact counts distinct customers without a join per candidate.
    customer_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(16))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_label: Mapped[str] = mapped_column(String(16), default="neutral")
    # {head: {label, confidence, abstained, model_version, top, shadow}}; absent head = no active model.
    predictions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Heads a person has to decide (the model abstained or none serves); emptied as agents decide.
    needs_triage: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # {similar_reports, similar_customers, window_minutes, services, tier}
    impact: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    priority: Mapped[str] = mapped_column(String(16))
    priority_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # float16 sentence embedding of the first message: near-duplicate search over recent tickets.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TrainingExample(IdMixin, Base):
    """Labelled history imported from a file (CSV, JSONL, a Zendesk export) for one head."""

    __tablename__ = "triage_training_examples"
    __table_args__ = (UniqueConstraint("head", "text_sha256", "label"),)

    head: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(32))
    # Where it came from: "<file>:<line>".
    origin: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TriageCorrection(IdMixin, Base):
    """An agent changed what triage (or nobody) had set: training data, and a measure of the model."""

    __tablename__ = "triage_corrections"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # The ticket event that recorded the agent's change; unique so a re-run records it once.
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    head: Mapped[str] = mapped_column(String(64))
    predicted_label: Mapped[str | None] = mapped_column(String(120))
    corrected_label: Mapped[str] = mapped_column(String(120))
    model_version: Mapped[str | None] = mapped_column(String(120))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MissingInfoRequest(IdMixin, Base):
    """The bot asked the customer for details the ticket's category needs: one row per ticket.

    Open (``finished_at`` empty) while the ticket waits on the customer; a later category that needs
    other details opens it again. The details themselves go to the ticket's custom fields: they are
    the customer's own.
    """

    __tablename__ = "missing_info_requests"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    # Names of the fields asked for the last time (policy field names, e.g. "order_number").
    fields: Mapped[list[str]] = mapped_column(JSONType, default=list)
    asks: Mapped[int] = mapped_column(Integer, default=1)
    first_asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # "complete" or "handed_over" once finished.
    outcome: Mapped[str | None] = mapped_column(String(16))
    # Two answers handled at once must not both count as the same ask: the second one retries.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
