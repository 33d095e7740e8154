"""HTTP routes of this domain (mounted in relaydesk.app)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
