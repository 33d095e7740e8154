"""REST routes of the customers domain (/api/v1/customers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from relaydesk.agents.dependencies import CurrentPrincipal, RequireLead
from relaydesk.customers import access, merge, service
from relaydesk.customers.enums import CustomerTier
from relaydesk.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    IdentityIn,
    IdentityOut,
)
from relaydesk.kit.ids import RecordId
from relaydesk.tickets.events import Actor
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


@router.get("", response_model=CustomerPage)
def list_customers(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    tier: CustomerTier | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> CustomerPage:
    items, next_cursor = service.list_customers(session, cursor=cursor, limit=limit, tier=tier, q=q)
    return CustomerPage(items=[CustomerOut.model_validate(c) for c in items], next_cursor=next_cursor)


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def create_customer(data: CustomerCreate, session: SessionDep, principal: CurrentPrincipal) -> CustomerOut:
    access.check_may_add_identities(
        session, principal, None, verified=any(identity.verified for identity in data.identities)
    )
    return CustomerOut.model_validate(service.create_customer(session, data))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> CustomerOut:
    return CustomerOut.model_validate(service.get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: RecordId, data: CustomerUpdate, session: SessionDep, principal: CurrentPrincipal
) -> CustomerOut:
    return CustomerOut.model_validate(service.update_customer(session, customer_id, data))


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_id: RecordId


class MergeCandidateOut(BaseModel):
    customer: CustomerOut
    reasons: list[str]


@router.get("/{customer_id}/merge-candidates", response_model=list[MergeCandidateOut])
def merge_candidates(
    customer_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> list[MergeCandidateOut]:
    customer = service.get_customer(session, customer_id)
    return [
        MergeCandidateOut(customer=CustomerOut.model_validate(c.customer), reasons=list(c.reasons))
        for c in merge.merge_candidates(session, customer)
    ]


@router.post("/{customer_id}/merge", response_model=CustomerOut)
def merge_customer(
    customer_id: RecordId, data: MergeRequest, session: SessionDep, principal: RequireLead
) -> CustomerOut:
    """Fold this customer into ``into_id``; their identities, tickets and orders follow (leads and up)."""
    access.check_may_merge(session, principal, customer_id, data.into_id)
    return CustomerOut.model_validate(
        merge.merge_customers(session, customer_id, data.into_id, Actor.of(principal))
    )


@router.post("/{customer_id}/identities", response_model=IdentityOut, status_code=status.HTTP_201_CREATED)
def add_identity(
    customer_id: RecordId, data: IdentityIn, session: SessionDep, principal: CurrentPrincipal
) -> IdentityOut:
    customer = service.get_customer(session, customer_id)
    access.check_may_add_identities(session, principal, customer.id, verified=data.verified)
    return IdentityOut.model_validate(service.add_identity(session, customer, data))
