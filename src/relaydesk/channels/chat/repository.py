"""Every query of web chat and in-app messaging."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.chat.models import ChatSite

__all__ = ["ChatRepository"]


class ChatRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def site_by_key(self, public_key: str) -> ChatSite | None:
        return self.session.scalar(select(ChatSite).where(ChatSite.public_key == public_key))

    def sites(self) -> Sequence[ChatSite]:
        return self.session.scalars(select(ChatSite).order_by(ChatSite.id)).all()
