"""Changing who a customer is: adding an identity to a customer, merging two customer records.

An identity decides where replies go and which ticket a proven message joins, so changing one is a
way to redirect a conversation. Merging customers and adding a verified identity need a lead (or
above), and no one may change the identities of a customer with tickets in a restricted team they
cannot see: that would redirect the replies of a team they are not part of. A merge then moves the
customer's tickets (with their events) and orders to the record that stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal
from relaydesk.commerce import service as commerce
from relaydesk.customers import service as customers
from relaydesk.customers.schemas import IdentityIn
from relaydesk.kit.errors import PermissionDeniedError
from relaydesk.tickets import service as tickets

if TYPE_CHECKING:
    from relaydesk.customers.models import Customer, CustomerIdentity

__all__ = ["add_identity", "merge_customers"]


def _check_tickets_visible(session: Session, principal: Principal, customer_ids: set[int]) -> None:
    hidden = tickets.customers_with_hidden_tickets(session, principal, customer_ids)
    if hidden:
        raise PermissionDeniedError(
            f"Customer {min(hidden)} has tickets in a restricted team you are not part of; "
            "ask a member of that team or a manager to change their identities."
        )


def add_identity(
    session: Session, principal: Principal, customer_id: int, data: IdentityIn
) -> CustomerIdentity:
    customer = customers.get_customer(session, customer_id)
    customers.check_may_verify(principal, verified=data.verified)
    _check_tickets_visible(session, principal, {customer.id})
    return customers.add_identity(session, customer, data)


def merge_customers(session: Session, principal: Principal, source_id: int, target_id: int) -> Customer:
    """Fold ``source`` into ``target`` (the route already asks for a lead): identities, tickets, their
    messages and orders all follow. Neither record may hide tickets from the one who merges."""
    _check_tickets_visible(session, principal, {source_id, target_id})
    target = customers.fold_into(session, source_id, target_id)
    tickets.reassign_customer(session, source_id, target.id, tickets.Actor.of(principal))
    commerce.reassign_customer(session, source_id, target.id)
    return target
