from __future__ import annotations

from dataclasses import dataclass

import pytest

from relaydesk.channels.chat import service
from relaydesk.channels.chat.identity import user_hash
from relaydesk.channels.chat.schemas import ChatSiteCreate

SITE_KEY = "shop-test"
SITE_SECRET = "site-secret-for-tests-0123456789"
SHOP_ORIGIN = "https://shop.example.com"


@dataclass(frozen=True)
class Site:
    id: int
    key: str
    secret: str

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"X-Relaydesk-Site-Key": self.key}
        if token:
            headers["X-Relaydesk-Visitor-Token"] = token
        headers.update(extra)
        return headers

    def signed(self, user_id: str, channel: str = "web_chat", secret: str | None = None) -> dict[str, str]:
        return {
            "X-Relaydesk-Site-Key": self.key,
            "X-Relaydesk-Channel": channel,
            "X-Relaydesk-User-Id": user_id,
            "X-Relaydesk-User-Hash": user_hash(secret or self.secret, user_id),
        }


@pytest.fixture
def site(database) -> Site:
    service.forget_cached_sites()
    with database.transaction() as session:
        row = service.create_site(
            session,
            ChatSiteCreate(name="Test Shop", allowed_origins=[SHOP_ORIGIN], greeting="Hello from the shop"),
            public_key=SITE_KEY,
            secret=SITE_SECRET,
        )
        site = Site(row.id, row.public_key, row.secret)
    yield site
    service.forget_cached_sites()


def new_visitor(client, site: Site) -> str:
    response = client.get("/chat/v1/conversation", headers=site.headers())
    assert response.status_code == 200, response.text
    return response.json()["visitor_token"]


def send(client, site: Site, token: str, body: str, client_id: str = "client-0001", **headers: str):
    """The visitor sends a chat message through the public chat API; answers the response."""
    return client.post(
        "/chat/v1/messages",
        json={"client_id": client_id, "body": body},
        headers=site.headers(token, **headers),
    )
