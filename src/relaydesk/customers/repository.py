"""Every query of the customers domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.customers.models import Customer, CustomerIdentity

__all__ = ["CustomerRepository"]


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def many(self, ids: set[int]) -> Sequence[Customer]:
        return self.session.scalars(select(Customer).where(Customer.id.in_(ids))).all() if ids else []

    def by_identity(self, kind: IdentityKind, value: str) -> Customer | None:
        # One query on the intake hot path: the customer through its identity.
        return self.session.scalar(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        )

    def lock(self, customer_id: int) -> None:
        # PostgreSQL holds the row until commit; SQLite needs nothing (its writer lock is taken at BEGIN).
        self.session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())

    def identity(self, kind: IdentityKind, value: str) -> CustomerIdentity | None:
        return self.session.scalar(
            select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        )

    def page(
        self, *, after_id: int | None, limit: int, tier: CustomerTier | None, q: str | None
    ) -> Sequence[Customer]:
        stmt = select(Customer).where(Customer.merged_into_id.is_(None)).order_by(Customer.id.desc())
        if after_id is not None:
            stmt = stmt.where(Customer.id < after_id)
        if tier is not None:
            stmt = stmt.where(Customer.tier == tier)
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(
                or_(
                    Customer.name.ilike(pattern),
                    Customer.identities.any(CustomerIdentity.value.ilike(pattern)),
                )
            )
        return self.session.scalars(stmt.limit(limit)).all()
