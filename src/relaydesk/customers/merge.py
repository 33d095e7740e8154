"""Finding customer records that are likely one person (merging them: relaydesk.flows.customer_identities)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relaydesk.customers.models import Customer, CustomerIdentity

__all__ = ["MergeCandidate", "merge_candidates"]


@dataclass(frozen=True)
class MergeCandidate:
    customer: Customer
    reasons: tuple[str, ...]


def merge_candidates(session: Session, customer: Customer, *, limit: int = 10) -> list[MergeCandidate]:
    """Probable duplicates: the same name, or an identity value the other holds under another kind."""
    found: dict[int, list[str]] = {}
    if customer.name.strip():
        same_name = session.scalars(
            select(Customer)
            .where(
                func.lower(Customer.name) == customer.name.strip().lower(),
                Customer.id != customer.id,
                Customer.merged_into_id.is_(None),
            )
            .limit(limit)
        )
        for other in same_name:
            found.setdefault(other.id, []).append("same name")
    values = [identity.value.lower() for identity in customer.identities]
    if values:
        shared = session.scalars(
            select(CustomerIdentity)
            .where(
                func.lower(CustomerIdentity.value).in_(values), CustomerIdentity.customer_id != customer.id
            )
            .limit(limit)
        )
        for identity in shared:
            found.setdefault(identity.customer_id, []).append(f"shares {identity.kind} {identity.value}")
    others = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(found)))}
    return [
        MergeCandidate(others[cid], tuple(reasons))
        for cid, reasons in found.items()
        if cid in others and others[cid].merged_into_id is None
    ][:limit]
