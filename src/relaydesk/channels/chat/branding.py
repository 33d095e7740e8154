"""The brand a chat site lends the public help center: a named hook other domains may import (contract
``channels-private``), as ``tickets.panels`` is, so the help center (deflection's) never reads the
chat tables.

Which site: ``RELAYDESK_HELP_CENTER_SITE`` (a public key), or the oldest active site. Its widget is
the help center's chat entry point, so the brand carries the site's public key too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from relaydesk.channels.chat.repository import ChatRepository
from relaydesk.settings import get_settings

__all__ = ["Brand", "help_center_brand"]


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str = ""
    brand_color: str = ""
    accent_color: str = ""
    shop_url: str = ""
    # The chat site's public key: the help center loads the widget with it. Empty: no chat entry point.
    site_key: str = ""


def help_center_brand(session: Session) -> Brand | None:
    """The brand of the help center's site; None when no active site exists (the help center then
    wears Relaydesk's plain look and offers the contact form, not chat)."""
    repository = ChatRepository(session)
    wanted = get_settings().help_center_site
    site = repository.site_by_key(wanted) if wanted else None
    if site is None or not site.active:
        site = next((s for s in repository.sites() if s.active), None)
    if site is None:
        return None
    return Brand(
        name=site.brand_name or site.name,
        logo_url=site.logo_url,
        brand_color=site.brand_color,
        accent_color=site.accent_color,
        shop_url=site.shop_url,
        site_key=site.public_key,
    )
