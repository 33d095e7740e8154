"""The ``required_fields`` policy: per category, the details a ticket needs before routing."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.policies import get_policy, policy_kind

__all__ = ["FieldSpec", "RequiredFieldsPolicy", "required_fields_policy"]


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
