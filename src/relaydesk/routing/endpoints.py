"""REST routes of the routing domain (mounted in relaydesk.app)."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.routing import enums, schemas, service  # noqa: F401  (the routes will use them)

__all__ = ["router"]

router = APIRouter()
