"""API shapes of the customers domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from relaydesk.customers.enums import CustomerTier, IdentityKind

__all__ = ["CustomerCreate", "CustomerOut", "CustomerPage", "CustomerUpdate", "IdentityIn", "IdentityOut"]


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)
    verified: bool = False


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: IdentityKind
    value: str
    verified: bool


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    tier: CustomerTier = CustomerTier.STANDARD
    language: str | None = Field(default=None, max_length=16)
    organisation: str | None = Field(default=None, max_length=200)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class CustomerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    tier: CustomerTier | None = None
    language: str | None = Field(default=None, max_length=16)
    organisation: str | None = Field(default=None, max_length=200)
    custom_fields: dict[str, Any] | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    tier: CustomerTier
    language: str | None
    organisation: str | None
    custom_fields: dict[str, Any]
    merged_into_id: int | None
    identities: list[IdentityOut]
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None
