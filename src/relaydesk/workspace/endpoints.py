"""The workspace's routes: each screen's module adds its router here (mounted in relaydesk.app)."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.workspace import offers, supervisor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(offers.router)  # the signed-in agent's pending offers
router.include_router(supervisor.router)  # the supervisor view /supervisor
