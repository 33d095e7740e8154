"""REST routes of the customers domain (/api/v1/customers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from relaydesk.agents.dependencies import CurrentPrincipal
from relaydesk.customers import service
from relaydesk.customers.models import CustomerTier
from relaydesk.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    IdentityIn,
    IdentityOut,
)
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
    return CustomerOut.model_validate(service.create_customer(session, data))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: int, session: SessionDep, principal: CurrentPrincipal) -> CustomerOut:
    return CustomerOut.model_validate(service.get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: int, data: CustomerUpdate, session: SessionDep, principal: CurrentPrincipal
) -> CustomerOut:
    return CustomerOut.model_validate(service.update_customer(session, customer_id, data))


@router.post("/{customer_id}/identities", response_model=IdentityOut, status_code=status.HTTP_201_CREATED)
def add_identity(
    customer_id: int, data: IdentityIn, session: SessionDep, principal: CurrentPrincipal
) -> IdentityOut:
    customer = service.get_customer(session, customer_id)
    return IdentityOut.model_validate(service.add_identity(session, customer, data))
