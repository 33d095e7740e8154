"""Every query of web chat and in-app messaging."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.chat.models import ChatSite
from relaydesk.tickets.enums import Channel
from relaydesk.tickets.models import Message, Ticket

__all__ = ["ChatRepository"]


class ChatRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def site_by_key(self, public_key: str) -> ChatSite | None:
        return self.session.scalar(select(ChatSite).where(ChatSite.public_key == public_key))

    def sites(self) -> Sequence[ChatSite]:
        return self.session.scalars(select(ChatSite).order_by(ChatSite.id)).all()

    def conversation(
        self, customer_id: int, channels: Sequence[Channel], *, after_id: int | None, limit: int
    ) -> list[Message]:
        """The customer's public messages on these channels across their tickets, oldest first.

        A read of the tickets domain's tables: the conversation a widget shows spans tickets (a new
        ticket opens when the last one closed), which no ticket-scoped service call returns.
        """
        stmt = (
            select(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Ticket.customer_id == customer_id,
                Message.public.is_(True),
                Message.channel.in_(list(channels)),
            )
        )
        if after_id is not None:
            rows = self.session.scalars(
                stmt.where(Message.id > after_id).order_by(Message.id).limit(limit)
            ).all()
            return list(rows)
        # The newest ``limit`` messages, returned oldest first.
        newest = self.session.scalars(stmt.order_by(Message.id.desc()).limit(limit)).all()
        return list(reversed(newest))
