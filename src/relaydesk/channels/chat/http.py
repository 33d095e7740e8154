"""Edge helpers of the public chat API: credentials from a request, the CORS headers it accepts."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from relaydesk.channels.chat.service import Credentials
from relaydesk.web.origins import own_origins  # pages Relaydesk serves (the demo shop) may use the widget

__all__ = ["CORS_HEADERS", "client_address", "credentials_from", "own_origins"]

SITE_HEADER = "X-Relaydesk-Site-Key"
CHANNEL_HEADER = "X-Relaydesk-Channel"
TOKEN_HEADER = "X-Relaydesk-Visitor-Token"
USER_ID_HEADER = "X-Relaydesk-User-Id"
USER_HASH_HEADER = "X-Relaydesk-User-Hash"
CORS_HEADERS = ", ".join(
    ["Content-Type", SITE_HEADER, CHANNEL_HEADER, TOKEN_HEADER, USER_ID_HEADER, USER_HASH_HEADER]
)


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def credentials_from(connection: HTTPConnection) -> Credentials:
    """Headers for REST calls; query parameters where a client cannot set headers (WebSocket)."""
    headers, query = connection.headers, connection.query_params

    def pick(header: str, param: str) -> str | None:
        value = headers.get(header) or query.get(param)
        return value[:500] if value else None

    return Credentials(
        site_key=pick(SITE_HEADER, "site_key"),
        channel=pick(CHANNEL_HEADER, "channel"),
        visitor_token=pick(TOKEN_HEADER, "visitor_token"),
        user_id=pick(USER_ID_HEADER, "user_id"),
        user_hash=pick(USER_HASH_HEADER, "user_hash"),
        origin=headers.get("origin"),
        own_origins=own_origins(connection),
    )
