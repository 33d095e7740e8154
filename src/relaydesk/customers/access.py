"""Who may change which addresses a customer's tickets answer: merging and adding identities.

An identity decides where replies go and which ticket a proven message joins, so changing one is a
way to redirect a conversation. Merging customers and adding a verified identity need a lead (or
above), and no one may change the identities of a customer with tickets in a restricted team they
cannot see: that would redirect the replies of a team they are not part of.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from relaydesk.auth.roles import Principal, Role
from relaydesk.kit.errors import PermissionDeniedError
from relaydesk.tickets import service as tickets

__all__ = ["check_may_add_identities", "check_may_merge"]


def _check_tickets_visible(session: Session, principal: Principal, customer_ids: set[int]) -> None:
    hidden = tickets.customers_with_hidden_tickets(session, principal, customer_ids)
    if hidden:
        raise PermissionDeniedError(
            f"Customer {min(hidden)} has tickets in a restricted team you are not part of; "
            "ask a member of that team or a manager to change their identities."
        )


def check_may_merge(session: Session, principal: Principal, source_id: int, target_id: int) -> None:
    """The route already asks for a lead; neither record may hide tickets from the actor."""
    _check_tickets_visible(session, principal, {source_id, target_id})


def check_may_add_identities(
    session: Session, principal: Principal, customer_id: int | None, *, verified: bool
) -> None:
    """``customer_id`` None: a customer being created (no tickets yet)."""
    if verified and not principal.role.at_least(Role.LEAD):
        raise PermissionDeniedError(
            f"Adding a verified identity needs the '{Role.LEAD}' role or above; you are signed in as "
            f"'{principal.role}'. Add it unverified, or ask a lead."
        )
    if customer_id is not None:
        _check_tickets_visible(session, principal, {customer_id})
