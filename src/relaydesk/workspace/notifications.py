"""In-app notifications for agents: an @mention in an internal note, read on /notifications.

A note's mentions become ``agent_notifications`` rows in the note's transaction, and each mentioned
agent's screens hear ``{"type": "notification"}`` on ``agent:<id>`` once it commits (the header badge
reloads its count on it). A mention of an agent who may not see the ticket (a restricted team) is
not delivered: the notification would leak the ticket's subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, OptionalSessionAgent, principal_for
from relaydesk.db import Base, IdMixin
from relaydesk.kit.errors import NotFoundError
from relaydesk.kit.ids import RecordId
from relaydesk.kit.time import utcnow
from relaydesk.realtime.channels import agent_channel
from relaydesk.realtime.fanout import publish_after_commit
from relaydesk.tickets import service as tickets
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = [
    "AgentNotification",
    "mentioned_agents",
    "notify_mentions",
    "router",
    "unread_count",
]

router = APIRouter(include_in_schema=False)

MENTION_KIND = "mention"
_PAGE_SIZE = 100


class AgentNotification(IdMixin, Base):
    """Something an agent should look at; unread until ``read_at`` is set."""

    __tablename__ = "agent_notifications"
    __table_args__ = (Index("ix_agent_notifications_agent_id_read_at", "agent_id", "read_at"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


# "@kim", "@Kim Nguyen", "@kim@northwind.example": the text right after an "@" that starts a word.
_MENTION_START = re.compile(r"(?<![\w.+-])@")


def mentioned_agents(session: Session, text: str, *, exclude: int | None = None) -> list[int]:
    """Active agents named after an ``@`` in ``text`` (by email, full name, or a first name only one has)."""
    starts = [m.end() for m in _MENTION_START.finditer(text)]
    if not starts:
        return []
    folded = text.casefold()
    roster = [a for a in agents.list_agents(session, active=True) if a.id != exclude]
    firsts = [(a.name.split() or [""])[0].casefold() for a in roster]
    found: list[int] = []
    for agent, first in zip(roster, firsts, strict=True):
        full = " ".join(agent.name.split()).casefold()
        handles = [agent.email.casefold(), full, full.replace(" ", "")]
        if first and firsts.count(first) == 1:
            handles.append(first)  # "@alex" with two Alexes names nobody
        if any(_names_at(folded, start, handle) for handle in handles if handle for start in starts):
            found.append(agent.id)
    return found


def _names_at(folded: str, start: int, handle: str) -> bool:
    if not folded.startswith(handle, start):
        return False
    after = folded[start + len(handle) : start + len(handle) + 1]
    # The handle must end where a word ends: "@kim" is not a mention of "kimberly".
    return not after or not (after.isalnum() or after in "_@")


def notify_mentions(session: Session, ticket_id: int, text: str, *, author_id: int) -> list[int]:
    """Notify every agent the note mentions who may see the ticket; returns their ids."""
    author = agents.get_agent(session, author_id)
    ticket = tickets.get_ticket(session, ticket_id)
    if ticket is None:
        return []
    notified: list[int] = []
    for agent_id in mentioned_agents(session, text, exclude=author_id):
        mentioned = agents.get_agent(session, agent_id)
        try:
            tickets.get_visible_ticket(session, ticket_id, principal_for(mentioned))
        except NotFoundError:
            continue
        excerpt = " ".join(text.split())
        excerpt = excerpt if len(excerpt) <= 200 else excerpt[:199] + "…"
        session.add(
            AgentNotification(
                agent_id=agent_id,
                kind=MENTION_KIND,
                ticket_id=ticket_id,
                text=f"{author.name} mentioned you on #{ticket_id} {ticket.subject}: {excerpt}"[:1000],
            )
        )
        notified.append(agent_id)
    session.flush()
    for agent_id in notified:
        publish_after_commit(
            session,
            agent_channel(agent_id),
            {
                "type": "notification",
                "kind": MENTION_KIND,
                "ticket_id": ticket_id,
                "unread": unread_count(session, agent_id),
            },
        )
    return notified


def unread_count(session: Session, agent_id: int) -> int:
    query = select(func.count()).where(
        AgentNotification.agent_id == agent_id, AgentNotification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def _list(session: Session, agent_id: int) -> Sequence[AgentNotification]:
    query = (
        select(AgentNotification)
        .where(AgentNotification.agent_id == agent_id)
        .order_by(AgentNotification.id.desc())
        .limit(_PAGE_SIZE)
    )
    return session.scalars(query).all()


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/notifications", status_code=303)
    return templates.TemplateResponse(
        request,
        "workspace/notifications.html",
        {"agent": agent, "csrf_token": _csrf(request), "notifications": _list(session, agent.id)},
    )


@router.get("/notifications/badge", response_class=HTMLResponse)
def notifications_badge(request: Request, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """The header's unread count (htmx loads it, and again on every ``relaydesk:agent`` event)."""
    assert principal.agent_id is not None
    unread = unread_count(session, principal.agent_id)
    return templates.TemplateResponse(request, "workspace/_notifications_badge.html", {"unread": unread})


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    row = session.get(AgentNotification, notification_id)
    if row is None or row.agent_id != principal.agent_id:
        raise NotFoundError(f"No notification {notification_id}.")
    if row.read_at is None:
        row.read_at = utcnow()
    target = f"/tickets/{row.ticket_id}" if row.ticket_id else "/notifications"
    return Response(status_code=204, headers={"HX-Redirect": target})


@router.post("/notifications/read-all")
def mark_all_read(session: SessionDep, principal: CurrentPrincipal) -> Response:
    session.execute(
        update(AgentNotification)
        .where(AgentNotification.agent_id == principal.agent_id, AgentNotification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return Response(status_code=204, headers={"HX-Refresh": "true"})
