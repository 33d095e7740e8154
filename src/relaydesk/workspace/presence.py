"""The presence selector in every agent page's header: online, away, busy or offline (htmx)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.agents.enums import AgentStatus, StatusChangeReason
from relaydesk.auth.sessions import CSRF_HEADER
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.post("/presence", response_class=HTMLResponse)
def set_presence(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    status: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Change the signed-in agent's own presence; answers the inside of the selector's form."""
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    data = request.state.session_data
    # htmx sends the token in the header (base.html's hx-headers); a plain form post in the field.
    if not (data.csrf_matches(request.headers.get(CSRF_HEADER)) or data.csrf_matches(csrf_token)):
        refused = _selector(
            request, agent, error="Your page expired; reload it to change your status.", code=403
        )
        refused.headers["HX-Refresh"] = "true"  # htmx swaps no 4xx: reload the page for a fresh token
        return refused
    if status not in set(AgentStatus):
        choices = ", ".join(AgentStatus)
        return _selector(request, agent, error=f"{status!r} is not a status; choose {choices}.", code=422)
    agents.set_status(agent, AgentStatus(status), reason=StatusChangeReason.SELF)
    return _selector(request, agent)


def _selector(request: Request, agent: object, *, error: str | None = None, code: int = 200) -> Response:
    data = request.state.session_data
    return templates.TemplateResponse(
        request,
        "workspace/presence.html",
        {"agent": agent, "csrf_token": data.csrf_token, "presence_error": error, "presence_fragment": True},
        status_code=code,
    )
