"""Business logic of the commerce domain."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from relaydesk.commerce.models import Order

__all__ = ["reassign_customer"]


def reassign_customer(session: Session, from_customer_id: int, to_customer_id: int) -> int:
    result = session.execute(
        update(Order)
        .where(Order.customer_id == from_customer_id)
        .values(customer_id=to_customer_id)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- Issue 20: orders read by other domains (triage's order-number lookup) through this service ---

__all__ += ["customer_has_order"]


def customer_has_order(session: Session, customer_id: int, order_number: str) -> bool:
    """Whether ``order_number`` names an order of this customer (a number of someone else's is not)."""
    found = session.scalar(
        select(Order.id).where(Order.order_number == order_number, Order.customer_id == customer_id)
    )
    return found is not None
