"""The workspace's routes: each screen's module adds its router here (mounted in relaydesk.app)."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.workspace import (
    admin,
    inbox,
    live,
    macros,
    new_ticket,
    notifications,
    offers,
    presence,
    supervisor,
    ticket_view,
    views,
)

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(admin.router)
router.include_router(presence.router)
router.include_router(new_ticket.router)  # /tickets/new (the ticket view's {id:int} never matches it)
router.include_router(ticket_view.router)
router.include_router(notifications.router)
router.include_router(macros.router)
router.include_router(inbox.router)  # the inbox, its rows and live counts
router.include_router(views.router)  # saved views
router.include_router(live.router)  # the agent WebSocket /ws/agent
router.include_router(offers.router)  # the signed-in agent's pending offers
router.include_router(supervisor.router)  # the supervisor view /supervisor

# The workspace's REST API (in the OpenAPI document, unlike the pages above).
api_router = APIRouter()
api_router.include_router(views.api_router)  # /api/v1/views: an agent's saved views
