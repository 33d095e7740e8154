"""The help center's contact form (mounted through ``channels.registry``): suggestions while the
customer types (the page's script calls the public suggestions API), and on submit a ticket through
intake; the suggestion session travels on the message for deflection to link."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.channels.intake import ingest_committed
from relaydesk.channels.web_form.parse import TOKEN_PATTERN, ContactForm, FormMistakeError, parse_contact_form
from relaydesk.kit.errors import NotFoundError
from relaydesk.web.i18n import i18n_context
from relaydesk.web.public import public_guard
from relaydesk.web.templating import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The help center owns /help/{locale}; the contact form lives beside its articles.
_LOCALE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


def _locale(locale: str) -> str:
    locale = locale.lower()
    if not _LOCALE.match(locale):
        raise NotFoundError(f"No help center for {locale[:16]!r}; use a locale such as 'en'.")
    return locale


def _contact_page(request: Request, locale: str, *, status_code: int = 200, **values: Any) -> Response:
    context: dict[str, Any] = {
        "agent": None,
        "locale": locale,
        "error": None,
        "name": "",
        "email": "",
        "subject": "",
        "question": "",
        "session_id": "",
        "submission_id": secrets.token_urlsafe(18),
        **i18n_context(locale),
    }
    context.update(values)
    return templates.TemplateResponse(request, "web_form/contact.html", context, status_code=status_code)


@router.get("/help/contact")
def contact_default() -> Response:
    # Reached because the channels' routes are mounted before the help center's /help/{locale}.
    return RedirectResponse("/help/en/contact", status_code=303)


@router.get("/help/{locale}/contact", response_class=HTMLResponse)
def contact_form(locale: str, request: Request) -> Response:
    # From a help-center search: ?q= carries the question, so the customer does not type it twice, and
    # ?s= its session, so the ticket this form opens is linked to what the customer tried there.
    question = (request.query_params.get("q") or "").strip()[:20_000]
    session_id = request.query_params.get("s") or ""
    session_id = session_id if re.match(TOKEN_PATTERN, session_id) else ""
    return _contact_page(request, _locale(locale), question=question, session_id=session_id)


@router.post("/help/{locale}/contact", response_class=HTMLResponse, dependencies=[Depends(public_guard)])
def submit_contact(
    locale: str,
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    question: Annotated[str, Form(max_length=20_000)],
    submission_id: Annotated[str, Form(pattern=TOKEN_PATTERN)],
    name: Annotated[str, Form(max_length=200)] = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    session_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Open a ticket through the channels intake; deflection links the suggestion session to it."""
    locale = _locale(locale)
    form = ContactForm(email, question, submission_id, name=name, subject=subject, session_id=session_id)
    try:
        inbound = parse_contact_form(form)
    except FormMistakeError as exc:
        return _contact_page(request, locale, status_code=422, error=str(exc), **vars(form))
    # Its own transaction, retried on a conflict with another writer (channels.intake).
    (result,) = ingest_committed([inbound])
    return templates.TemplateResponse(
        request,
        "web_form/contact_sent.html",
        {"agent": None, "ticket_id": result.ticket_id, "locale": locale, **i18n_context(locale)},
    )
