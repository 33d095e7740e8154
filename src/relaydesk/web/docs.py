"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with every asset served by
this server: they work offline, and their pages run no inline script (the security headers' CSP).

The Swagger UI and ReDoc bundles come from the ``fastapi-offline`` package (its ``static`` folder);
Relaydesk uses only those files, not its application class. Whether the pages exist at all is the
``RELAYDESK_DOCS_ENABLED`` setting (off in production unless set).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from relaydesk.web.security import CONTENT_SECURITY_POLICY
from relaydesk.web.templating import templates

__all__ = ["ASSETS_URL", "install_api_docs"]

ASSETS_URL = "/docs-assets"
_SERVED_AS_IS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
# ReDoc runs its search index in a worker it creates from a blob: URL.
_REDOC_POLICY = f"{CONTENT_SECURITY_POLICY}; worker-src 'self' blob:"
# ReDoc's menu shows its maker's logo from their CDN: a request to a third party from every reader's
# browser (and a CSP refusal). The bundle is served with that address pointing at the local icon.
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def _assets() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@cache
def _redoc_bundle() -> bytes:
    return (_assets() / "redoc.standalone.js").read_bytes().replace(_REDOC_LOGO, b"/docs-assets/favicon.png")


def install_api_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request, "docs/swagger.html", {"title": f"{app.title} API", "assets": ASSETS_URL}
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "docs/redoc.html",
            {"title": f"{app.title} API", "assets": ASSETS_URL},
            headers={"Content-Security-Policy": _REDOC_POLICY},
        )

    @app.get(f"{ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(_redoc_bundle(), media_type="text/javascript")

    for name, media_type in _SERVED_AS_IS.items():
        app.add_api_route(
            f"{ASSETS_URL}/{name}",
            _file_endpoint(_assets() / name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def _file_endpoint(path: Path, media_type: str) -> Callable[[], FileResponse]:
    def endpoint() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return endpoint
