"""HTTP routes whose work spans domains (mounted in relaydesk.app): each calls one flow."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from relaydesk.agents.dependencies import CurrentPrincipal, RequireLead
from relaydesk.customers.schemas import CustomerOut, IdentityIn, IdentityOut
from relaydesk.flows import customer_identities
from relaydesk.kit.ids import RecordId
from relaydesk.web.deps import SessionDep

__all__ = ["router"]

router = APIRouter()
customer_routes = APIRouter(prefix="/api/v1/customers", tags=["customers"])


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_id: RecordId


@customer_routes.post("/{customer_id}/merge", response_model=CustomerOut)
def merge_customer(
    customer_id: RecordId, data: MergeRequest, session: SessionDep, principal: RequireLead
) -> CustomerOut:
    """Fold this customer into ``into_id``; their identities, tickets and orders follow (leads and up)."""
    return CustomerOut.model_validate(
        customer_identities.merge_customers(session, principal, customer_id, data.into_id)
    )


@customer_routes.post(
    "/{customer_id}/identities", response_model=IdentityOut, status_code=status.HTTP_201_CREATED
)
def add_identity(
    customer_id: RecordId, data: IdentityIn, session: SessionDep, principal: CurrentPrincipal
) -> IdentityOut:
    return IdentityOut.model_validate(customer_identities.add_identity(session, principal, customer_id, data))


router.include_router(customer_routes)
