"""Merging two customer records that turn out to be one person, and finding likely pairs.

Orchestrates across domains (tickets and orders follow the customer), so it lives beside the
customers service rather than inside it: the service stays free of other domains' imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relaydesk.commerce import service as commerce
from relaydesk.customers.enums import CustomerTier
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.customers.service import get_customer
from relaydesk.kit.errors import ConflictError, ValidationFailedError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.events import Actor

__all__ = ["MergeCandidate", "merge_candidates", "merge_customers"]

_TIER_RANK = {CustomerTier.STANDARD: 0, CustomerTier.PREMIUM: 1, CustomerTier.VIP: 2}


@dataclass(frozen=True)
class MergeCandidate:
    customer: Customer
    reasons: tuple[str, ...]


def merge_customers(session: Session, source_id: int, target_id: int, actor: Actor) -> Customer:
    """Fold ``source`` into ``target``: identities, tickets, messages and orders all follow."""
    if source_id == target_id:
        raise ValidationFailedError("A customer cannot be merged into itself.")
    source, target = get_customer(session, source_id), get_customer(session, target_id)
    for customer in (source, target):
        if customer.merged_into_id is not None:
            raise ConflictError(
                f"Customer {customer.id} was already merged into {customer.merged_into_id}; "
                "merge that one instead."
            )
    for identity in list(source.identities):
        identity.customer_id = target.id
    session.flush()
    session.expire(source, ["identities"])
    session.expire(target, ["identities"])
    tickets.reassign_customer(session, source.id, target.id, actor)
    commerce.reassign_customer(session, source.id, target.id)
    if _TIER_RANK[CustomerTier(source.tier)] > _TIER_RANK[CustomerTier(target.tier)]:
        target.tier = source.tier  # the person is as important as their most important record
    target.name = target.name or source.name
    target.language = target.language or source.language
    target.organisation = target.organisation or source.organisation
    target.custom_fields = {**source.custom_fields, **target.custom_fields}
    source.merged_into_id = target.id
    session.flush()
    return target


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
