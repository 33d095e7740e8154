"""``/status/{token}``: the customer's status page and its reply form (mounted through ``channels.registry``).

The token proves who the customer is and which ticket they may see; the reply goes through intake
like any inbound message (validated here, stored once per form submission, threaded into the token's
ticket by its signed id). A token that is not ours is kept in quarantine (bounded, as unverified
webhook bodies are) and answered with a friendly page.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from relaydesk.channels.base import InboundMessage
from relaydesk.channels.intake import in_intake_transaction, ingest
from relaydesk.channels.quarantine import quarantine_unverified
from relaydesk.channels.recipients import resolve_recipient
from relaydesk.channels.status_page.tokens import (
    ExpiredTokenError,
    InvalidTokenError,
    StatusLink,
    read_status_token,
)
from relaydesk.channels.status_page.view import StatusView, load_status
from relaydesk.customers.enums import IdentityKind
from relaydesk.db import get_database
from relaydesk.kit.compare import constant_time_equals
from relaydesk.settings import get_settings
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, TicketStatus
from relaydesk.web.public import public_guard
from relaydesk.web.templating import templates

__all__ = ["CSRF_COOKIE", "router"]

router = APIRouter(include_in_schema=False)

# Double-submit CSRF: a random value in a cookie of its own and in the form; a forged post has neither.
CSRF_COOKIE = "relaydesk_status_csrf"
_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ADDRESS_KIND = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.WEB_FORM: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.SOCIAL: IdentityKind.SOCIAL,
}


class _ClosedError(Exception):
    """The ticket closed between showing the page and the reply."""


def _page(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    return templates.TemplateResponse(
        request, f"status_page/{template}", {"agent": None, **values}, status_code=status_code
    )


def _link_or_page(request: Request, token: str, body: bytes | None = None) -> StatusLink | Response:
    """The link's ticket and customer, or the friendly page for a link that is not (or no longer) good."""
    try:
        return read_status_token(token)
    except ExpiredTokenError:
        reason_code, status_code, expired = "expired_status_link", 410, True
    except InvalidTokenError:
        reason_code, status_code, expired = "invalid_status_link", 404, False
    if body is not None:  # a reply sent with a link we cannot honour: kept, as refused webhooks are
        quarantine_unverified(
            "status_page",
            "status_page",
            reason_code,
            "A status-page reply came with a link that is expired or not ours.",
            body,
            {"path_token": token[:400]},
        )
    return _page(request, "link_invalid.html", status_code, expired=expired)


def _csrf_value(request: Request) -> str:
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if _TOKEN_VALUE.match(current) else secrets.token_urlsafe(24)


def _status_page(
    request: Request, token: str, view: StatusView, *, status_code: int = 200, **values: Any
) -> Response:
    csrf = _csrf_value(request)
    context = {
        "view": view,
        "token": token,
        "csrf_token": "",  # base.html's agent CSRF header; this page has its own
        "form_csrf": csrf,
        "submission_id": secrets.token_urlsafe(18),
        "error": None,
        "reply": "",
        "sent": request.query_params.get("sent") == "1",
        **values,
    }
    response = _page(request, "status.html", status_code, **context)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        path="/status",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=get_settings().status_link_max_age_days * 86_400,
    )
    return response


def _load(link: StatusLink) -> StatusView | None:
    with get_database().transaction(read_only=True) as session:
        return load_status(session, link)


@router.get("/status/{token}", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def status_page(token: str, request: Request) -> Response:
    link = _link_or_page(request, token)
    if isinstance(link, Response):
        return link
    view = _load(link)
    if view is None:
        return _page(request, "link_invalid.html", 404, expired=False)
    return _status_page(request, token, view)


@router.post("/status/{token}", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def reply_from_status_page(
    token: str,
    request: Request,
    reply: Annotated[str, Form(max_length=200_000)] = "",
    submission_id: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add the customer's reply to the link's ticket through intake, then show the page again."""
    link = _link_or_page(request, token, body=reply.encode())
    if isinstance(link, Response):
        return link
    view = _load(link)
    if view is None:
        return _page(request, "link_invalid.html", 404, expired=False)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(cookie, csrf_token):
        return _status_page(
            request,
            token,
            view,
            status_code=403,
            reply=reply,
            error="Your reply was not sent: this page is out of date. Send it again from here.",
        )
    text = reply.strip()
    limit = get_settings().max_message_chars
    mistake = None
    if not text:
        mistake = "Please write your reply before sending it."
    elif len(text) > limit:
        mistake = f"Your reply is {len(text):,} characters long; please keep it under {limit:,}."
    elif not _TOKEN_VALUE.match(submission_id):
        mistake = "Your reply was not sent: reload this page and send it again."
    if mistake is not None:
        return _status_page(request, token, view, status_code=422, reply=reply, error=mistake)
    if not view.can_reply:
        return _status_page(request, token, view, status_code=409, reply=reply, error=_CLOSED)
    try:
        in_intake_transaction(lambda session: _ingest_reply(session, link, text, submission_id))
    except _ClosedError:
        return _status_page(request, token, view, status_code=409, reply=reply, error=_CLOSED)
    # Post/redirect/get: reloading the page does not send the reply again.
    return RedirectResponse(f"/status/{token}?sent=1#latest", status_code=303)


_CLOSED = "This request is closed, so your reply was not added. Write to us again to open a new one."


def _ingest_reply(session: Session, link: StatusLink, text: str, submission_id: str) -> None:
    ticket = tickets.lock_ticket(session, link.ticket_id)
    if ticket is None or ticket.customer_id != link.customer_id or ticket.status is TicketStatus.CLOSED:
        raise _ClosedError
    # The reply continues the conversation on the ticket's channel, to the address answered last, so
    # the team's next update reaches the customer where it did before.
    channel = ticket.reply_channel
    address = resolve_recipient(session, ticket, channel) or ""
    ingest(
        session,
        InboundMessage(
            channel=channel,
            identity_kind=_ADDRESS_KIND.get(channel, IdentityKind.EXTERNAL_ID),
            identity_value=address,
            customer_id=link.customer_id,
            ticket_id=link.ticket_id,
            # The link proves this ticket, not the customer's others: never thread by identity.
            identity_proven=False,
            text=text,
            # One per rendering of the form: a double click or a resent post is one message.
            provider_message_id=f"status-page:{submission_id}",
            meta={"via": "status_page"},
        ),
    )
