"""HTTP routes of this domain (mounted in relaydesk.app): the model registry API and its admin page.

- ``GET  /api/v1/models`` (admin): versions per head with state, metrics and shadow agreement.
- ``POST /api/v1/models/{head}/{version}/promote`` (admin): make a version the active one.
- ``POST /api/v1/models/{head}/rollback`` (admin): back to the version active before.
- ``POST /api/v1/models/{head}/{version}/shadow`` (admin): run a candidate in shadow;
  ``DELETE /api/v1/models/{head}/shadow`` stops it.
- ``GET /admin/models`` (admin, signed in): the same as a page with promote/rollback/shadow buttons.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents.dependencies import OptionalSessionAgent, RequireAdmin
from relaydesk.auth.roles import Role
from relaydesk.classification import service
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

# Version numbers are 32-bit integers in the database: a larger one is refused here, not by the driver.
ModelVersion = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter()


def _registry(session: SessionDep) -> dict[str, Any]:
    heads = service.heads(session)
    by_head: dict[str, list[dict[str, Any]]] = {}
    for row in service.list_versions(session):
        by_head.setdefault(row.head, []).append(service.version_summary(row))
    for name in heads:
        by_head.setdefault(name, [])
    return {
        "heads": [
            {
                "head": name,
                "active_version": next((v["version"] for v in versions if v["state"] == "active"), None),
                "shadow_version": next((v["version"] for v in versions if v["state"] == "shadow"), None),
                "retrain_every_hours": heads[name].retrain_every_hours if name in heads else None,
                "versions": versions,
            }
            for name, versions in sorted(by_head.items())
        ]
    }


@router.get("/api/v1/models")
def list_models(session: SessionDep, principal: RequireAdmin) -> dict[str, Any]:
    return _registry(session)


@router.post("/api/v1/models/{head}/{version}/promote")
def promote_model(
    head: str, version: ModelVersion, session: SessionDep, principal: RequireAdmin
) -> dict[str, Any]:
    return service.version_summary(service.activate(session, head, version))


@router.post("/api/v1/models/{head}/rollback")
def rollback_model(head: str, session: SessionDep, principal: RequireAdmin) -> dict[str, Any]:
    return service.version_summary(service.rollback(session, head))


@router.post("/api/v1/models/{head}/{version}/shadow")
def shadow_model(
    head: str, version: ModelVersion, session: SessionDep, principal: RequireAdmin
) -> dict[str, Any]:
    row = service.set_shadow(session, head, version)
    assert row is not None
    return service.version_summary(row)


@router.delete("/api/v1/models/{head}/shadow")
def stop_shadow(head: str, session: SessionDep, principal: RequireAdmin) -> dict[str, Any]:
    service.set_shadow(session, head, None)
    return {"head": head, "shadow": None}


# -- admin page --------------------------------------------------------------------------------------


def _is_admin(agent: Any) -> bool:
    return agent is not None and Role(agent.role).at_least(Role.ADMIN)


@router.get("/admin/models", response_class=HTMLResponse, include_in_schema=False)
def models_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/admin/models", status_code=303)
    if not _is_admin(agent):
        return HTMLResponse("<p>The model registry needs the admin role.</p>", status_code=403)
    data = getattr(request.state, "session_data", None)
    return templates.TemplateResponse(
        request,
        "classification/models.html",
        {"agent": agent, "csrf_token": data.csrf_token if data else "", **_registry(session)},
    )
