"""Dependency aliases shared by every router (``SessionDep``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from relaydesk.db import get_database
from relaydesk.kit.errors import NotFoundError
from relaydesk.settings import get_settings

__all__ = ["SessionDep", "db_session", "demo_only"]


def db_session() -> Iterator[Session]:
    # scope="function" below: the transaction commits before the response is sent, so a client
    # (or a provider's webhook) is only told "ok" once the data is durable.
    with get_database().sessionmaker() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def demo_only() -> None:
    """Every demo page's router depends on this: without the demo enabled, the page does not exist."""
    if not get_settings().demo_enabled:
        raise NotFoundError("Not found.")
