"""Tables of the customers domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin, enum_column

__all__ = ["Customer", "CustomerIdentity", "CustomerTier", "IdentityKind"]


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"

    name: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[CustomerTier] = mapped_column(enum_column(CustomerTier), default=CustomerTier.STANDARD)
    language: Mapped[str | None] = mapped_column(String(16))
    organisation: Mapped[str | None] = mapped_column(String(200))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Set when this record was merged into another; kept so old references still resolve.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )


class CustomerIdentity(IdMixin, TimestampMixin, Base):
    __tablename__ = "customer_identities"
    # One identity (an address, a phone number, a handle) belongs to exactly one customer.
    __table_args__ = (UniqueConstraint("kind", "value"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind))
    # Normalised: lower-cased email, E.164 phone, "network:handle" for social.
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="identities")
