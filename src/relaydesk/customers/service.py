"""Business logic of the customers domain."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal, Role
from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.customers.identities import normalise_identity as normalise_identity  # public
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.customers.repository import CustomerRepository
from relaydesk.customers.schemas import CustomerCreate, CustomerUpdate, IdentityIn
from relaydesk.jobs import enqueue
from relaydesk.kit.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailedError
from relaydesk.kit.pagination import after_id_from_cursor, encode_cursor

__all__ = [
    "ROUTING_TIER_JOB",
    "add_identity",
    "check_may_verify",
    "create_customer",
    "find_by_identity",
    "fold_into",
    "get_customer",
    "get_customers",
    "get_or_create_by_identity",
    "list_customers",
    "lock_customer",
    "update_customer",
]


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = CustomerRepository(session).get(customer_id)
    if customer is None:
        raise NotFoundError(f"No customer with id {customer_id}.")
    return customer


def get_customers(session: Session, ids: set[int]) -> dict[int, Customer]:
    return {c.id: c for c in CustomerRepository(session).many(ids)}


def find_by_identity(session: Session, kind: IdentityKind, value: str) -> Customer | None:
    return CustomerRepository(session).by_identity(kind, normalise_identity(kind, value))


def add_identity(session: Session, customer: Customer, data: IdentityIn) -> CustomerIdentity:
    value = normalise_identity(data.kind, data.value)
    existing = CustomerRepository(session).identity(data.kind, value)
    if existing is not None:
        if existing.customer_id == customer.id:
            existing.verified = existing.verified or data.verified
            return existing
        raise ConflictError(
            f"The {data.kind} identity {value!r} already belongs to customer {existing.customer_id}; "
            "merge the two customers instead."
        )
    identity = CustomerIdentity(kind=data.kind, value=value, verified=data.verified)
    customer.identities.append(identity)
    session.flush()
    return identity


def create_customer(session: Session, data: CustomerCreate) -> Customer:
    customer = Customer(
        name=data.name,
        tier=data.tier,
        language=data.language,
        organisation=data.organisation,
        custom_fields=data.custom_fields,
    )
    session.add(customer)
    session.flush()
    for identity in data.identities:
        add_identity(session, customer, identity)
    return customer


def get_or_create_by_identity(
    session: Session, kind: IdentityKind, value: str, *, name: str = "", verified: bool = False
) -> Customer:
    """The customer owning this identity, or a new one holding it (intake's first step).

    Safe when two first messages from one new customer arrive at once: the loser of the race on the
    identity's unique key rolls back its savepoint and takes the winner's customer. The winner may
    also commit between the look-up above and ``add_identity``'s own, which then finds the identity
    taken (a ConflictError): the same race, settled the same way.
    """
    existing = find_by_identity(session, kind, value)
    if existing is None:
        try:
            identity = IdentityIn(kind=kind, value=value, verified=verified)
            with session.begin_nested():
                return create_customer(session, CustomerCreate(name=name, identities=[identity]))
        except (IntegrityError, ConflictError):
            existing = find_by_identity(session, kind, value)
            if existing is None:
                raise
    while existing.merged_into_id is not None:
        existing = get_customer(session, existing.merged_into_id)
    return existing


def lock_customer(session: Session, customer_id: int) -> None:
    """Hold the customer's row until commit: work that threads by customer (intake) runs one at a time."""
    CustomerRepository(session).lock(customer_id)


# A customer's tier orders their waiting tickets in routing's queues (VIP first within a priority);
# routing is told of a change by this job (the name is the contract between the two).
ROUTING_TIER_JOB = "routing.follow_customer"


def update_customer(session: Session, customer_id: int, data: CustomerUpdate) -> Customer:
    customer = get_customer(session, customer_id)
    tier = customer.tier
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(customer, field, value)
    if customer.tier != tier:
        enqueue(session, ROUTING_TIER_JOB, customer_id=customer.id)
    session.flush()
    return customer


def list_customers(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    tier: CustomerTier | None = None,
    q: str | None = None,
) -> tuple[list[Customer], str | None]:
    after_id = after_id_from_cursor(cursor)
    rows = list(CustomerRepository(session).page(after_id=after_id, limit=limit + 1, tier=tier, q=q))
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


# -- merging records and verifying identities ------------------------------------------------------------
# An identity decides where replies go and which ticket a proven message joins. The checks that look at
# the customer's tickets, and moving their tickets and orders, are relaydesk.flows.customer_identities.


def check_may_verify(principal: Principal, *, verified: bool) -> None:
    """Only a lead (or above) may vouch that an identity belongs to the customer."""
    if verified and not principal.role.at_least(Role.LEAD):
        raise PermissionDeniedError(
            f"Adding a verified identity needs the '{Role.LEAD}' role or above; you are signed in as "
            f"'{principal.role}'. Add it unverified, or ask a lead."
        )


_TIER_RANK = {CustomerTier.STANDARD: 0, CustomerTier.PREMIUM: 1, CustomerTier.VIP: 2}


def fold_into(session: Session, source_id: int, target_id: int) -> Customer:
    """Fold the ``source`` record into ``target``: identities, tier, missing details and custom fields
    move; ``source`` keeps ``merged_into_id`` so old references resolve. Returns ``target``."""
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
    if _TIER_RANK[CustomerTier(source.tier)] > _TIER_RANK[CustomerTier(target.tier)]:
        target.tier = source.tier  # the person is as important as their most important record
        enqueue(session, ROUTING_TIER_JOB, customer_id=target.id)
    target.name = target.name or source.name
    target.language = target.language or source.language
    target.organisation = target.organisation or source.organisation
    target.custom_fields = {**source.custom_fields, **target.custom_fields}
    source.merged_into_id = target.id
    session.flush()
    return target
