"""Triage's policy kinds: ``required_fields`` (what a category needs before routing) and ``triage``
(languages, confidence per head, and how urgency, impact, service and tier make a priority)."""

from __future__ import annotations

import re
from typing import Literal

from lingua import IsoCode639_1
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.policies import get_policy, policy_kind

__all__ = [
    "HEADS",
    "FieldSpec",
    "HeadRule",
    "ImpactRule",
    "ImpactStep",
    "RequiredFieldsPolicy",
    "SentimentRule",
    "ServiceRule",
    "TierRule",
    "TriagePolicy",
    "required_fields_policy",
    "triage_policy",
]


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=80)
    question: str = Field(min_length=1, max_length=1000)
    # How to find the value in the customer's words; the first group (or the whole match) is kept.
    pattern: str = Field(min_length=1, max_length=500)
    # What to say when an answer does not look right.
    hint: str = Field(default="", max_length=500)
    # Optional lookup the value must pass, e.g. "commerce.order_number" (an order of this customer).
    lookup: Literal["commerce.order_number"] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


@policy_kind("required_fields")
class RequiredFieldsPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldSpec]
    categories: dict[str, list[str]] = Field(default_factory=dict)
    # After this many answers that do not validate, a person takes over instead of asking again.
    max_asks: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _known_fields(self) -> RequiredFieldsPolicy:
        for category, names in self.categories.items():
            unknown = sorted(set(names) - set(self.fields))
            if unknown:
                raise ValueError(f"category {category!r} requires undefined field(s) {unknown}")
        return self


def required_fields_policy() -> RequiredFieldsPolicy | None:
    return get_policy("required_fields", RequiredFieldsPolicy)


# --- the ``triage`` policy: how the live pipeline turns predictions into a ticket's fields ---------

HEADS = ("category", "priority", "team")


class HeadRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # On top of the model's own abstain threshold: below this confidence the model is not followed.
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    # What happens when the model is not followed (abstained, too unsure) or the head has no active
    # model: a person decides (the ticket needs triage), or the head is left for routing / the default.
    on_abstain: Literal["needs_triage", "ignore"] = "needs_triage"
    on_no_model: Literal["needs_triage", "ignore"] = "ignore"


class ImpactStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Other customers who reported the same problem within the window.
    customers: int = Field(ge=1, le=100_000)
    raise_priority: int = Field(ge=0, le=3)


class ImpactRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    window_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Cosine similarity of the first messages' sentence embeddings that counts as "the same problem".
    similarity: float = Field(default=0.8, ge=0.3, le=1.0)
    # Bounded work per ticket: compare with at most this many of the newest tickets in the window.
    max_candidates: int = Field(default=500, ge=1, le=20_000)
    steps: list[ImpactStep] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[ImpactStep]) -> list[ImpactStep]:
        counts = [s.customers for s in steps]
        if counts != sorted(set(counts)):
            raise ValueError("steps must be in ascending order of 'customers', each count once")
        return steps


class ServiceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    # Words or phrases (case-insensitive, whole words) that say this service is affected.
    keywords: list[str] = Field(min_length=1, max_length=200)
    raise_priority: int = Field(default=1, ge=0, le=3)

    @field_validator("keywords")
    @classmethod
    def _not_blank(cls, keywords: list[str]) -> list[str]:
        if any(not k.strip() for k in keywords):
            raise ValueError("keywords must not be blank")
        return [k.strip().lower() for k in keywords]


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raise_priority: int = Field(default=0, ge=0, le=3)
    at_least: Literal["low", "normal", "high", "urgent"] | None = None


class SentimentRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A message scoring below this (-1 .. 1) counts as negative; raise_priority 0 records it only.
    negative_below: float = Field(default=-0.35, ge=-1.0, le=0.0)
    raise_priority: int = Field(default=0, ge=0, le=3)


@policy_kind("triage")
class TriagePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # ISO 639-1 codes the language detector chooses among (fewer languages: faster and surer).
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1, max_length=75)
    language_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # Which heads triage asks a model for; a head left out is never predicted (nor needs triage).
    heads: dict[str, HeadRule] = Field(
        default_factory=lambda: {
            "category": HeadRule(on_no_model="needs_triage"),
            "team": HeadRule(),
            "priority": HeadRule(on_abstain="ignore"),
        }
    )
    default_priority: Literal["low", "normal", "high", "urgent"] = "normal"
    impact: ImpactRule = Field(default_factory=ImpactRule)
    services: list[ServiceRule] = Field(default_factory=list)
    tiers: dict[Literal["standard", "premium", "vip"], TierRule] = Field(default_factory=dict)
    sentiment: SentimentRule = Field(default_factory=SentimentRule)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, codes: list[str]) -> list[str]:
        normalised = [c.strip().lower() for c in codes]
        unknown = [c for c in normalised if not hasattr(IsoCode639_1, c.upper()) or len(c) != 2]
        if unknown:
            raise ValueError(f"unknown ISO 639-1 language code(s) {unknown}")
        return sorted(set(normalised))

    @field_validator("heads")
    @classmethod
    def _known_heads(cls, heads: dict[str, HeadRule]) -> dict[str, HeadRule]:
        unknown = sorted(set(heads) - set(HEADS))
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; triage knows {list(HEADS)}")
        return heads

    @field_validator("services")
    @classmethod
    def _unique_services(cls, services: list[ServiceRule]) -> list[ServiceRule]:
        names = [s.name for s in services]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"service(s) {duplicates} declared twice")
        return services


def triage_policy() -> TriagePolicy:
    """The shipped or configured triage policy; built-in defaults when the folder has none."""
    return get_policy("triage", TriagePolicy) or TriagePolicy()
