"""The application factory: the one place that wires every domain's routes into one ASGI app."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import relaydesk.models  # noqa: F401  (every table mapped, whichever routers are mounted)
from relaydesk import __version__
from relaydesk.agents import endpoints as agent_endpoints
from relaydesk.channels import endpoints as channel_endpoints
from relaydesk.channels import registry as channel_registry
from relaydesk.classification import endpoints as classification_endpoints
from relaydesk.customers import endpoints as customer_endpoints
from relaydesk.db import get_database
from relaydesk.db.migrate import current_heads
from relaydesk.deflection import endpoints as deflection_endpoints
from relaydesk.escalation import endpoints as escalation_endpoints
from relaydesk.flows import endpoints as flow_endpoints
from relaydesk.jobs import discover_tasks
from relaydesk.jobs.worker import InProcessWorkers
from relaydesk.knowledge import endpoints as knowledge_endpoints
from relaydesk.knowledge import service as knowledge_service
from relaydesk.routing import endpoints as routing_endpoints
from relaydesk.settings import Environment, Settings, get_settings
from relaydesk.sla import endpoints as sla_endpoints
from relaydesk.tickets import endpoints as ticket_endpoints
from relaydesk.triage import endpoints as triage_endpoints
from relaydesk.web.docs import install_api_docs
from relaydesk.web.errors import install_error_handlers
from relaydesk.web.inputs import reject_invalid_text
from relaydesk.web.limits import BodySizeLimit, RouteBodyLimit
from relaydesk.web.security import SecurityHeaders
from relaydesk.workspace import endpoints as workspace_endpoints

__all__ = ["create_app"]

log = logging.getLogger("relaydesk")


# Multipart framing around one file: boundaries, part headers, the file name.
_MULTIPART_ALLOWANCE = 64 * 1024


def _body_limits(settings: Settings) -> list[RouteBodyLimit]:
    """The routes whose bodies may be bigger than ``RELAYDESK_MAX_REQUEST_BYTES``: those that take files."""
    upload = settings.max_upload_bytes + _MULTIPART_ALLOWANCE
    return [RouteBodyLimit(r"/api/v1/tickets/\d+/messages/\d+/attachments", upload)]


def create_app(*, run_worker: bool = False, warm_search: bool = False) -> FastAPI:
    """``warm_search``: build the search index and load the query encoder in the background as the app
    starts; until that is done, /readyz reports ``search: warming`` (503), so a load balancer sends
    customers to a process that answers their first question at once."""
    settings = get_settings()
    discover_tasks()
    search_state = {"search": "warming"} if warm_search else {}

    def warm() -> None:
        started = time.perf_counter()
        try:
            articles = knowledge_service.warm_search(get_database())
        except Exception:
            # Not fatal: the first search builds the index itself, as without warming.
            log.exception("warming the knowledge search failed; the first search will build it")
        else:
            log.info("knowledge search warm: %d articles in %.1f s", articles, time.perf_counter() - started)
        search_state["search"] = "ok"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers: InProcessWorkers | None = None
        if warm_search:
            threading.Thread(target=warm, name="relaydesk-warm-search", daemon=True).start()
        if run_worker:
            # One thread per lane (jobs.worker.LANE_THREADS): live work never waits behind bulk work.
            workers = InProcessWorkers(get_database())
            workers.start()
        try:
            yield
        finally:
            if workers is not None:
                workers.stop(timeout=10)

    app = FastAPI(
        title="Relaydesk",
        version=__version__,
        description="Deflect what self-service can solve; escalate the rest to the right person fast.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # The reference pages are Relaydesk's own (relaydesk.web.docs): no CDN, no inline script.
        docs_url=None,
        redoc_url=None,
        # Text no database can store (NUL, lone surrogates) is refused at the edge for every route.
        dependencies=[Depends(reject_invalid_text)],
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, default_bytes=settings.max_request_bytes, routes=_body_limits(settings))
    # Outermost: the 413s above and every error page carry the headers too.
    app.add_middleware(SecurityHeaders, hsts=settings.env is Environment.PRODUCTION)
    if settings.api_docs_enabled:
        install_api_docs(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "web" / "static")), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with get_database().engine.connect() as conn:
                query = text("SELECT version_num FROM alembic_version")
                applied: tuple[str, ...] = tuple(sorted(conn.execute(query).scalars()))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if applied == current_heads() else f"behind ({', '.join(applied)})"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        if settings.redis_url:
            try:
                import redis

                redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
        checks.update(search_state)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    # One way in: each domain's endpoints.router, which includes its own pages; the channel adapters
    # through their registry. Order matters where paths overlap: the contact form's /help/contact
    # comes before the help center's /help/{locale}.
    for router in (
        agent_endpoints.router,
        customer_endpoints.router,
        flow_endpoints.router,
        ticket_endpoints.router,
        channel_endpoints.router,
        *channel_registry.routers(),
        knowledge_endpoints.router,
        deflection_endpoints.router,
        classification_endpoints.router,
        triage_endpoints.router,
        routing_endpoints.router,
        escalation_endpoints.router,
        sla_endpoints.router,
        workspace_endpoints.router,
        workspace_endpoints.api_router,
    ):
        app.include_router(router)
    return app
