"""Relaydesk's own origins: what a browser's ``Origin`` header says when a page Relaydesk served calls
back (a WebSocket above all, which no CORS or SameSite rule protects)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from relaydesk.settings import get_settings

__all__ = ["is_own_origin", "origin_of", "own_origins"]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower case, a WebSocket scheme read as its HTTP one."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}".lower()


def own_origins(connection: HTTPConnection) -> tuple[str, ...]:
    """The origin this connection came in on, and the configured public ``base_url``'s."""
    return (origin_of(str(connection.base_url)), origin_of(get_settings().base_url))


def is_own_origin(connection: HTTPConnection) -> bool:
    """True when the connection's ``Origin`` header names Relaydesk itself (absent counts as foreign)."""
    origin = (connection.headers.get("origin") or "").strip().lower().rstrip("/")
    return bool(origin) and origin in own_origins(connection)
