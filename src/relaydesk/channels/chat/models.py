"""Tables of web chat and in-app messaging: the sites that embed the widget or the app SDK."""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin

__all__ = ["ChatSite"]


class ChatSite(IdMixin, TimestampMixin, Base):
    """A web site or app that talks to Relaydesk through the chat API.

    The public key goes in the widget's script tag (it only names the site); the secret signs
    identities of signed-in users on the site's own server and must never reach a browser. It is kept
    readable because checking an HMAC needs it, like a webhook secret.
    """

    __tablename__ = "chat_sites"

    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    # Exact origins ("https://shop.example.com") allowed to open the widget; "*" allows any.
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    greeting: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The brand the help center wears for this site (``branding.help_center_brand``): its name (the
    # site's name when empty), a logo (a same-origin path or a data: image, as the CSP allows), two
    # colours (#rrggbb) and the shop's address for a link back.
    brand_name: Mapped[str] = mapped_column(String(200), default="")
    logo_url: Mapped[str] = mapped_column(Text, default="")
    brand_color: Mapped[str] = mapped_column(String(7), default="")
    accent_color: Mapped[str] = mapped_column(String(7), default="")
    shop_url: Mapped[str] = mapped_column(String(1000), default="")
