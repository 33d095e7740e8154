"""API shapes of the triage domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["CorrectionOut", "HeadPredictionOut", "TriageOut"]


class HeadPredictionOut(BaseModel):
    label: str | None
    confidence: float | None
    abstained: bool
    model_version: str | None
    reason: str
    top: list[tuple[str, float]]
    shadow: dict[str, Any] | None = None


class CorrectionOut(BaseModel):
    head: str
    predicted_label: str | None
    corrected_label: str
    model_version: str | None
    agent_id: int | None
    created_at: datetime


class TriageOut(BaseModel):
    ticket_id: int
    triaged: bool  # false until the first customer message went through triage
    triaged_at: datetime | None = None
    needs_triage: list[str] = []
    predictions: dict[str, HeadPredictionOut] = {}
    language: str | None = None
    language_confidence: float | None = None
    sentiment: float | None = None
    sentiment_label: str | None = None
    priority: str | None = None
    priority_reasons: list[str] = []
    impact: dict[str, Any] = {}
    corrections: list[CorrectionOut] = []
