"""The channels domain's public surface: what other packages may ask of the outbox.

The workspace shows each reply's delivery state with the reason it failed, and lets the agent send a
failed reply again; both go through here so the ``deliveries`` table stays private to channels.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.models import Delivery, DeliveryStatus
from relaydesk.jobs import enqueue
from relaydesk.kit.errors import ConflictError, NotFoundError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import DeliveryState

__all__ = ["delivery_errors", "retry_delivery"]

# The same job and name the tickets domain enqueues for a new reply (tickets.service.DELIVER_JOB).
_DELIVER_JOB = tickets.DELIVER_JOB


def delivery_errors(session: Session, message_ids: Collection[int]) -> dict[int, str]:
    """The last delivery error of each of these messages that has one (why it is failed or waiting)."""
    if not message_ids:
        return {}
    rows = session.execute(
        select(Delivery.message_id, Delivery.last_error).where(
            Delivery.message_id.in_(list(message_ids)), Delivery.last_error.is_not(None)
        )
    )
    return {message_id: str(error) for message_id, error in rows}


def retry_delivery(session: Session, message_id: int) -> None:
    """Send a failed reply again: back to "queued", and a fresh delivery job in this transaction.

    Only a failed reply can be retried (a queued one is still on its way; a sent one must not go twice).
    """
    message = tickets.get_message(session, message_id)
    if message is None or not message.public:
        raise NotFoundError(f"No reply {message_id} to send again.")
    if message.delivery_state is not DeliveryState.FAILED:
        state = message.delivery_state.value.replace("_", " ")
        raise ConflictError(f"Only a failed reply can be sent again; this one is {state}.")
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message_id))
    if delivery is not None:
        delivery.status = DeliveryStatus.PENDING
        attempt = delivery.attempts
    else:
        attempt = 0
    tickets.set_delivery_state(session, message, DeliveryState.QUEUED)
    # A new dedupe key per retry: the first job's key still exists (finished or dead-lettered).
    enqueue(session, _DELIVER_JOB, dedupe_key=f"deliver:{message_id}:retry:{attempt}", message_id=message_id)
    session.flush()
