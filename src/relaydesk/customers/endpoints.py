"""REST routes of the customers domain (/api/v1/customers).

Adding an identity to a customer and merging two customers also concern their tickets: those routes
are relaydesk.flows.endpoints.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.customers import merge, service
from relaydesk.customers.enums import CustomerTier
from relaydesk.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
)
from relaydesk.kit.ids import RecordId
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
    # A new customer has no tickets yet: only the role matters for the identities it comes with.
    service.check_may_verify(principal, verified=any(identity.verified for identity in data.identities))
    return CustomerOut.model_validate(service.create_customer(session, data))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> CustomerOut:
    return CustomerOut.model_validate(service.get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: RecordId, data: CustomerUpdate, session: SessionDep, principal: CurrentPrincipal
) -> CustomerOut:
    return CustomerOut.model_validate(service.update_customer(session, customer_id, data))


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
