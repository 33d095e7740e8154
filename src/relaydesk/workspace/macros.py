"""Macros (canned responses): saved reply texts with placeholders, applied in the ticket's reply box.

A macro's body is a Jinja2 template rendered in a sandbox (no attribute access beyond the plain values
given, no imports) with ``customer``, ``agent`` and ``ticket`` as small dictionaries of text, e.g.
``Hi {{ customer.name }}, ticket #{{ ticket.id }} is with {{ agent.name }}``. An unknown placeholder
is a 422 naming it, when the macro is saved and when it is applied. Leads and above manage macros
(/macros); every agent applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, OptionalSessionAgent, RequireLead
from relaydesk.auth.roles import Role
from relaydesk.customers import service as customers
from relaydesk.db import Base, IdMixin, TimestampMixin
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service as tickets
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates
from relaydesk.workspace.people import customer_display_name

__all__ = ["PLACEHOLDERS", "Macro", "list_macros", "render_macro", "router"]

router = APIRouter(include_in_schema=False)

# What a macro may name: shown on the macros page, and the sample a macro is checked against when saved.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "customer": {
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "email": "ada@example.com",
        "phone": "+441234567890",
    },
    "agent": {"name": "Kim Nguyen", "first_name": "Kim", "email": "kim@example.com"},
    "ticket": {
        "id": "42",
        "subject": "Where is my order?",
        "category": "shipping",
        "priority": "normal",
        "status": "open",
    },
}

Name = Annotated[str, Form(min_length=1, max_length=120)]
Body = Annotated[str, Form(min_length=1, max_length=20_000)]

_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class Macro(IdMixin, TimestampMixin, Base):
    __tablename__ = "macros"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


def render_macro(body: str, context: dict[str, Any]) -> str:
    """The macro's text with its placeholders filled; a 422 saying which placeholder is wrong."""
    try:
        return _sandbox.from_string(body).render(**context)
    except UndefinedError as exc:
        known = ", ".join(f"{{{{ {group}.{key} }}}}" for group, keys in PLACEHOLDERS.items() for key in keys)
        raise ValidationFailedError(f"Unknown placeholder ({exc.message}). Use one of: {known}.") from exc
    except TemplateError as exc:
        raise ValidationFailedError(f"The macro's placeholders cannot be read: {exc}.") from exc


def list_macros(session: Session) -> Sequence[Macro]:
    return session.scalars(select(Macro).order_by(Macro.name)).all()


def _get(session: Session, macro_id: int) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None:
        raise NotFoundError(f"No macro with id {macro_id}.")
    return macro


def _check_name_free(session: Session, name: str, macro_id: int | None) -> None:
    existing = session.scalar(select(Macro).where(Macro.name == name))
    if existing is not None and existing.id != macro_id:
        raise ConflictError(f"A macro named {name!r} exists already; pick another name.")


def _clean(name: str, body: str) -> tuple[str, str]:
    name = name.strip()
    if not name or not body.strip():
        raise ValidationFailedError("A macro needs a name and a text.")
    render_macro(body, PLACEHOLDERS)  # refuses an unknown placeholder when saved, not when used
    return name, body


def macro_context(session: Session, ticket_id: int, agent_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(session, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.")
    customer = customers.get_customer(session, ticket.customer_id)
    agent = agents.get_agent(session, agent_id)
    values = {i.kind.value: i.value for i in sorted(customer.identities, key=lambda i: (i.verified, i.id))}
    name = customer_display_name(customer)
    return {
        "customer": {
            "name": name,
            "first_name": (customer.name.split() or [name])[0],
            "email": values.get("email", ""),
            "phone": values.get("phone", ""),
        },
        "agent": {"name": agent.name, "first_name": (agent.name.split() or [""])[0], "email": agent.email},
        "ticket": {
            "id": str(ticket.id),
            "subject": ticket.subject,
            "category": ticket.category or "",
            "priority": ticket.priority.value,
            "status": ticket.status.value,
        },
    }


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


@router.get("/macros", response_class=HTMLResponse)
def macros_page(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/macros", status_code=303)
    return templates.TemplateResponse(
        request,
        "workspace/macros.html",
        {
            "agent": agent,
            "csrf_token": _csrf(request),
            "macros": list_macros(session),
            "can_edit": Role(agent.role).at_least(Role.LEAD),
            "placeholders": PLACEHOLDERS,
        },
    )


@router.post("/macros")
def create_macro(name: Name, body: Body, session: SessionDep, principal: RequireLead) -> Response:
    name, body = _clean(name, body)
    _check_name_free(session, name, None)
    session.add(Macro(name=name, body=body, created_by_id=principal.agent_id))
    session.flush()
    return Response(status_code=204, headers={"HX-Redirect": "/macros"})


@router.post("/macros/{macro_id}")
def update_macro(
    macro_id: RecordId, name: Name, body: Body, session: SessionDep, principal: RequireLead
) -> Response:
    macro = _get(session, macro_id)
    name, body = _clean(name, body)
    _check_name_free(session, name, macro.id)
    macro.name, macro.body = name, body
    return Response(status_code=204, headers={"HX-Redirect": "/macros"})


@router.post("/macros/{macro_id}/delete")
def delete_macro(macro_id: RecordId, session: SessionDep, principal: RequireLead) -> Response:
    session.delete(_get(session, macro_id))
    return Response(status_code=204, headers={"HX-Redirect": "/macros"})


@router.post("/tickets/{ticket_id:int}/macros/{macro_id}/apply", response_class=HTMLResponse)
def apply_macro(
    ticket_id: RecordId,
    macro_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: Annotated[str, Form(max_length=50_000)] = "",
) -> Response:
    """The reply box with the macro's text added to what the agent had typed (``body``)."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal)
    if principal.agent_id is None:
        raise ValidationFailedError("Macros are applied by an agent.")
    text = render_macro(_get(session, macro_id).body, macro_context(session, ticket.id, principal.agent_id))
    combined = f"{body.rstrip()}\n\n{text}" if body.strip() else text
    return templates.TemplateResponse(request, "workspace/_reply_body.html", {"body": combined})
