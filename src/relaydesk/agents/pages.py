"""Server-rendered sign-in, sign-out and "sign out everywhere"."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from relaydesk.agents import service
from relaydesk.agents.dependencies import OptionalSessionAgent, principal_for, session_signer
from relaydesk.agents.models import Agent
from relaydesk.auth.passwords import verify_password_off_loop
from relaydesk.auth.sessions import SESSION_COOKIE, SessionData
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import Environment, get_settings
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.agents.models import Agent

__all__ = ["principal_for", "router"]

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "relaydesk_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's link must not bounce a fresh session to their site.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/tickets"
    return target


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    email: str = "",
    next_: str = "/tickets",
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "email": email, "next": _safe_next(next_), "login_csrf": token, "agent": None},
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure_cookies())
    return response


def _secure_cookies() -> bool:
    return get_settings().env is Environment.PRODUCTION


@router.get("/", response_class=HTMLResponse)
def root(agent: OptionalSessionAgent) -> Response:
    return RedirectResponse("/tickets" if agent else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, agent: OptionalSessionAgent, next: str = "/tickets") -> Response:
    if agent is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/tickets",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not constant_time_equals(expected, csrf_token):
        return _login_page(
            request,
            error="Your sign-in form expired; please try again.",
            email=email,
            next_=next,
            status_code=400,
        )
    # Async on purpose: the database steps run in the thread pool, the argon2 check in its own bounded
    # pool, so a flood of sign-ins neither blocks the event loop nor takes every thread from other pages.
    address = request.client.host if request.client else "unknown"
    attempt = await run_in_threadpool(service.begin_sign_in, session, email, address)
    result = attempt.blocked
    if result is None:
        password_ok = await verify_password_off_loop(attempt.password_hash, password)
        result = await run_in_threadpool(
            lambda: service.finish_sign_in(
                session,
                attempt,
                password_ok=password_ok,
                password=password,
                user_agent=request.headers.get("user-agent", ""),
            )
        )
    if result.blocked_until is not None:
        page = _login_page(request, error=result.blocked_message, email=email, next_=next, status_code=429)
        page.headers["Retry-After"] = str(result.retry_after_seconds)
        return page
    if result.session_id is None:
        return _login_page(
            request,
            error="That email and password do not match an active agent.",
            email=email,
            next_=next,
            status_code=401,
        )
    cookie, _ = session_signer().issue(result.session_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=get_settings().session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=_secure_cookies(),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _sign_out(
    request: Request, session: Session, agent: Agent | None, csrf_token: str, *, everywhere: bool
) -> Response:
    """Both sign-out forms: a signed-in agent's form must carry its session's CSRF token."""
    data: SessionData | None = getattr(request.state, "session_data", None)
    if agent is not None:
        if data is None or not data.csrf_matches(csrf_token):
            return RedirectResponse("/tickets", status_code=303)  # a cross-site form signs no one out
        if everywhere:
            service.sign_out_everywhere(session, agent.id)
        else:
            service.sign_out(session, data.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End this session on the server (the cookie alone would otherwise stay valid)."""
    return _sign_out(request, session, agent, csrf_token, everywhere=False)


@router.post("/logout/everywhere")
def logout_everywhere(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End every session of the signed-in agent, on every device."""
    return _sign_out(request, session, agent, csrf_token, everywhere=True)
