"""The demo shop page that embeds the widget, so a person can try web chat in ``scripts/demo``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from relaydesk.channels.chat import service
from relaydesk.channels.chat.identity import USER_ID, user_hash
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.chat.schemas import ChatSiteCreate
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["DEMO_SITE_KEY", "ensure_demo_site", "router"]

router = APIRouter(include_in_schema=False)
DEMO_SITE_KEY = "northwind-demo"


def ensure_demo_site(session: Session) -> ChatSite:
    """The demo brand's chat site (idempotent)."""
    site = service.site_by_key(session, DEMO_SITE_KEY)
    if site is not None:
        return site
    return service.create_site(
        session,
        ChatSiteCreate(
            name="Northwind Outfitters",
            allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
            greeting="Hi! Ask us anything about orders, returns or your account.",
        ),
        public_key=DEMO_SITE_KEY,
    )


@router.get("/chat/demo", response_class=HTMLResponse)
def demo_shop(
    request: Request,
    session: SessionDep,
    user: Annotated[str | None, Query(max_length=200, description="try a signed-in customer")] = None,
) -> HTMLResponse:
    site = service.site_by_key(session, DEMO_SITE_KEY)
    signed = None
    if site is not None and user and USER_ID.match(user):
        # Only a demo computes the hash in the page it serves; a real site does this on its server.
        signed = {"user_id": user, "user_hash": user_hash(site.secret, user)}
    return templates.TemplateResponse(
        request, "chat/demo.html", {"site": site, "signed": signed, "site_key": DEMO_SITE_KEY}
    )
