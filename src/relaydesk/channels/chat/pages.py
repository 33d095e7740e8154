"""The demo shop page that embeds the widget, so a person can try web chat in ``scripts/demo``.

Served only with ``RELAYDESK_DEMO_ENABLED`` (``relaydesk demo --serve`` turns it on; production refuses
it): the page signs an identity, which a real site does on its own server for its own signed-in user.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from relaydesk.channels.chat import service
from relaydesk.channels.chat.identity import user_hash
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.chat.schemas import ChatSiteCreate, ChatSiteUpdate
from relaydesk.web.deps import SessionDep, demo_only
from relaydesk.web.templating import templates

__all__ = ["DEMO_SIGNED_IN_USER", "DEMO_SITE_KEY", "ensure_demo_site", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(demo_only)])
DEMO_SITE_KEY = "northwind-demo"
# The one customer the demo page signs in as: never chosen by the visitor (a URL that picked the
# id would hand out a valid hash, and with it the conversation, of any customer of the site).
DEMO_SIGNED_IN_USER = "customer-1001"


# The demo brand as the help center wears it (the site's brand settings).
DEMO_BRAND = ChatSiteUpdate(
    logo_url="/static/brand/northwind.svg",
    brand_color="#233b32",
    accent_color="#f6f4ef",
    shop_url="http://127.0.0.1:8000/chat/demo",
)


def ensure_demo_site(session: Session) -> ChatSite:
    """The demo brand's chat site with its brand (idempotent; a site from before brands gets one)."""
    site = service.site_by_key(session, DEMO_SITE_KEY)
    if site is not None:
        if not site.brand_color:
            service.update_site(session, site.id, DEMO_BRAND)
        return site
    return service.create_site(
        session,
        ChatSiteCreate(
            name="Northwind Outfitters",
            allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
            greeting="Hi! Ask us anything about orders, returns or your account.",
            **DEMO_BRAND.model_dump(exclude_unset=True),
        ),
        public_key=DEMO_SITE_KEY,
    )


@router.get("/chat/demo", response_class=HTMLResponse)
def demo_shop(
    request: Request,
    session: SessionDep,
    signed_in: Annotated[bool, Query(description="try the demo's signed-in customer")] = False,
) -> HTMLResponse:
    site = service.site_by_key(session, DEMO_SITE_KEY)
    signed = None
    if site is not None and signed_in:
        signed = {
            "user_id": DEMO_SIGNED_IN_USER,
            "user_hash": user_hash(site.secret, DEMO_SIGNED_IN_USER),
        }
    return templates.TemplateResponse(
        request, "chat/demo.html", {"site": site, "signed": signed, "site_key": DEMO_SITE_KEY}
    )
