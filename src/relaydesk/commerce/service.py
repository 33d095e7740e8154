"""Business logic of the commerce domain."""

from __future__ import annotations

from sqlalchemy import update
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
