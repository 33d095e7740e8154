"""The workspace's routes: each screen's module adds its router here (mounted in relaydesk.app)."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.workspace import inbox, live, views

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(inbox.router)  # the inbox, its rows and live counts
router.include_router(views.router)  # saved views
router.include_router(live.router)  # the agent WebSocket /ws/agent
