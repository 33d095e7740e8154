"""The agent's ticket view (/tickets/{id}) and every action taken from it.

One page: the timeline across channels (messages, internal notes, key events, with names), the
customer's profile, the panels other domains register (``tickets.panels``: triage, deflection),
suggested articles, and the forms that act. Each action is an htmx POST that goes through the
owning domain's service and answers the re-rendered view (``#ticket-view``); a refused action answers
the error fragment (web/errors.py), which ``workspace/errors.js`` shows above the view. Every change
names the ticket ``version`` the agent saw: a ticket someone else changed since is a 409 ("reload").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import CurrentPrincipal, OptionalSessionAgent, principal_for
from relaydesk.auth.roles import Principal
from relaydesk.channels import service as channels
from relaydesk.customers import service as customers
from relaydesk.escalation import service as escalation
from relaydesk.kit.errors import ConflictError, NotFoundError, ValidationFailedError
from relaydesk.kit.ids import RecordId
from relaydesk.knowledge import service as knowledge
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, EscalationLevel, Priority, TicketStatus
from relaydesk.tickets.panels import panels
from relaydesk.tickets.schemas import MESSAGE_BODY_MAX_CHARS, MessageCreate, StatusChange, TicketUpdate
from relaydesk.triage import service as triage
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates
from relaydesk.workspace import macros
from relaydesk.workspace.notifications import notify_mentions
from relaydesk.workspace.people import IDENTITY_REPLY_CHANNELS, customer_display_name

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Body = Annotated[str, Form(max_length=MESSAGE_BODY_MAX_CHARS)]
Version = Annotated[int, Form(ge=1)]
_EVENTS_SHOWN = 500

# The ticket events the timeline shows between messages (the rest are on the API's event list).
_EVENT_KINDS = {
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.team_changed",
    "ticket.priority_changed",
    "ticket.category_changed",
    "ticket.escalation_level_changed",
    # The ladder's own moves (escalation/service.py): reason, note and pickup in words.
    "escalation.escalated",
    "escalation.de_escalated",
    "escalation.acknowledged",
    "escalation.pickup_overdue",
    # SLA clocks at risk or breached (fulfilments are in the SLA panel, not between the messages).
    "sla.at_risk",
    "sla.breached",
}
# Channels a reply cannot take from the page: there is no customer at the other end to send it to.
_NOT_REPLYABLE = {Channel.INTERNAL, Channel.API, Channel.PHONE}


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "message" or "event"
    message: Any = None
    event: Any = None
    text: str = ""  # an event, in words
    author: str = ""


def _not_found(ticket_id: int) -> NotFoundError:
    # The same answer for a missing ticket and a restricted one: its existence does not leak.
    return NotFoundError("There is no such ticket, or it belongs to a team you are not part of.")


def _visible(session: Session, ticket_id: int, principal: Principal) -> Any:
    try:
        return tickets.get_visible_ticket(session, ticket_id, principal)
    except NotFoundError:
        raise _not_found(ticket_id) from None


def _check_version(ticket: Any, version: int) -> None:
    if version != ticket.version:
        raise ConflictError(
            "Someone changed this ticket since you opened it; reload it to see their change, then try again.",
            details={"current_version": ticket.version},
        )


def _agent_names(session: Session) -> dict[int, str]:
    return {a.id: a.name for a in agents.list_agents(session)}


def _event_text(event: Any, names: dict[int, str], teams: dict[int, str]) -> str:
    data = event.data or {}
    reason = f" ({data['reason']})" if data.get("reason") else ""
    before, after = data.get("from"), data.get("to")
    match event.kind:
        case "ticket.created":
            return f"Ticket opened on {str(data.get('channel', '')).replace('_', ' ')}"
        case "ticket.assigned":
            return (f"Assigned to {names.get(after, f'agent #{after}')}" if after else "Unassigned") + reason
        case "ticket.team_changed":
            return f"Team: {teams.get(before or 0, 'none')} → {teams.get(after or 0, 'none')}{reason}"
        case "ticket.status_changed":
            return f"Status: {str(before).replace('_', ' ')} → {str(after).replace('_', ' ')}{reason}"
        case "ticket.escalation_level_changed":
            return f"Escalated: {before} → {after}{reason}"
        case "escalation.escalated" | "escalation.de_escalated":
            verb = "De-escalated" if event.kind == "escalation.de_escalated" else "Escalated"
            note = f": {data['note']}" if data.get("note") else ""
            return f"{verb} {before} → {after}{reason}{note}"
        case "escalation.acknowledged":
            return f"Escalation picked up at {data.get('level')}"
        case "escalation.pickup_overdue":
            return f"Escalation not picked up in time at {data.get('level')}"
        case "sla.at_risk" | "sla.breached":
            return _sla_event_text(event.kind, data)
        case _:
            field = event.kind.removeprefix("ticket.").removesuffix("_changed")
            return f"{field.capitalize()}: {before or 'none'} → {after or 'none'}{reason}"


def _sla_event_text(kind: str, data: dict[str, Any]) -> str:
    target = str(data.get("target", "target")).replace("_", " ")
    policy = f" (SLA {data.get('policy')})" if data.get("policy") else ""
    return f"SLA {target} {'at risk' if kind == 'sla.at_risk' else 'breached'}{policy}"


def _actor_name(kind: AuthorKind, actor_id: int | None, names: dict[int, str], customer_name: str) -> str:
    if kind is AuthorKind.AGENT and actor_id is not None:
        return names.get(actor_id, f"Agent #{actor_id}")
    if kind is AuthorKind.CUSTOMER:
        return customer_name
    return "Relaydesk bot" if kind is AuthorKind.BOT else "Relaydesk"


def _timeline(
    session: Session, ticket: Any, names: dict[int, str], customer_name: str, *, after: int | None = None
) -> list[TimelineItem]:
    messages = [m for m in tickets.list_messages(session, ticket) if after is None or m.id > after]
    items = [
        TimelineItem(
            m.created_at,
            "message",
            message=m,
            author=_actor_name(
                m.author_kind,
                m.author_agent_id if m.author_kind is AuthorKind.AGENT else None,
                names,
                customer_name,
            ),
        )
        for m in messages
    ]
    if after is None:
        teams = {t.id: t.name for t in agents.list_teams(session)}
        events, _ = tickets.list_events(session, ticket, cursor=None, limit=_EVENTS_SHOWN)
        items += [
            TimelineItem(
                e.created_at,
                "event",
                event=e,
                text=_event_text(e, names, teams),
                author=_actor_name(e.actor_kind, e.actor_id, names, customer_name),
            )
            for e in events
            if e.kind in _EVENT_KINDS
        ]
    # Events and messages written in one transaction share a time: the message comes first.
    return sorted(items, key=lambda i: (i.at, i.kind != "message", (i.message or i.event).id))


def _reply_channels(ticket: Any, customer: Any) -> list[Channel]:
    """The ticket's reply channel first, then every channel the customer has an identity for."""
    found = [ticket.reply_channel, ticket.channel]
    for identity in customer.identities:
        found += IDENTITY_REPLY_CHANNELS.get(identity.kind, ())
    ordered = list(dict.fromkeys(found))
    return [c for c in ordered if c not in _NOT_REPLYABLE]


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


def _context(request: Request, session: Session, agent: Any, ticket: Any) -> dict[str, Any]:
    principal = principal_for(agent)
    customer = customers.get_customer(session, ticket.customer_id)
    customer_name = customer_display_name(customer)
    names = _agent_names(session)
    timeline = _timeline(session, ticket, names, customer_name)
    outbound = [i.message.id for i in timeline if i.message is not None and i.message.public]
    teams = agents.list_teams(session)
    return {
        "agent": agent,
        "csrf_token": _csrf(request),
        "ticket": ticket,
        "customer": customer,
        "customer_name": customer_name,
        "timeline": timeline,
        "delivery_errors": channels.delivery_errors(session, outbound),
        "past_tickets": [
            t
            for t in tickets.customer_tickets(session, principal, customer.id, limit=20)
            if t.id != ticket.id
        ],
        "panels": [shown for panel in panels() if (shown := panel(session, ticket)) is not None],
        "reply_channels": _reply_channels(ticket, customer),
        "agents": [a for a in agents.list_agents(session, active=True)],
        "agent_names": names,
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "priorities": list(Priority),
        "macros": macros.list_macros(session),
        "resolvable": ticket.status not in {TicketStatus.RESOLVED, TicketStatus.CLOSED},
    }


def _view(
    request: Request, session: Session, principal: Principal, ticket: Any, status_code: int = 200
) -> Response:
    """The re-rendered view after an action (what every action answers)."""
    session.flush()
    session.refresh(ticket)
    agent = agents.get_agent(session, principal.agent_id) if principal.agent_id else None
    return templates.TemplateResponse(
        request,
        "workspace/_ticket_view.html",
        _context(request, session, agent, ticket),
        status_code=status_code,
    )


def _agent_only(principal: Principal) -> int:
    if principal.agent_id is None:
        raise ValidationFailedError("The ticket view acts for a signed-in agent; API tokens use /api/v1.")
    return principal.agent_id


@router.get("/tickets/{ticket_id:int}", response_class=HTMLResponse)
def ticket_page(
    ticket_id: RecordId, request: Request, session: SessionDep, agent: OptionalSessionAgent
) -> Response:
    if agent is None:
        return RedirectResponse(f"/login?next=/tickets/{ticket_id}", status_code=303)
    ticket = _visible(session, ticket_id, principal_for(agent))
    return templates.TemplateResponse(
        request, "workspace/ticket.html", _context(request, session, agent, ticket)
    )


@router.get("/tickets/{ticket_id:int}/timeline", response_class=HTMLResponse)
def timeline_fragment(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    after: Annotated[RecordId | None, Query()] = None,
) -> Response:
    """Only the timeline items newer than message ``after`` (the live script appends them)."""
    ticket = _visible(session, ticket_id, principal)
    customer = customers.get_customer(session, ticket.customer_id)
    names = _agent_names(session)
    items = _timeline(session, ticket, names, customer_display_name(customer), after=after or 0)
    outbound = [i.message.id for i in items if i.message.public]
    return templates.TemplateResponse(
        request,
        "workspace/_timeline_items.html",
        {"timeline": items, "ticket": ticket, "delivery_errors": channels.delivery_errors(session, outbound)},
    )


@router.post("/tickets/{ticket_id:int}/reply", response_class=HTMLResponse)
def reply(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: Body,
    channel: Annotated[Channel | None, Form()] = None,
    confirm_recipient: Annotated[str | None, Form(max_length=320)] = None,
) -> Response:
    agent_id = _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    data = _parse(
        MessageCreate, body=body, public=True, channel=channel, confirm_recipient=confirm_recipient or None
    )
    try:
        tickets.add_agent_message(session, ticket, data, agent_id)
    except ConflictError as exc:
        if exc.code != "recipient_changed":
            raise
        # Nothing was written yet (the address is chosen before the reply is stored): ask the agent.
        return templates.TemplateResponse(
            request,
            "workspace/_confirm_recipient.html",
            {
                "ticket": ticket,
                "body": body,
                "channel": data.channel or ticket.reply_channel,
                "details": exc.details or {},
            },
            status_code=409,
        )
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/note", response_class=HTMLResponse)
def note(
    ticket_id: RecordId, request: Request, session: SessionDep, principal: CurrentPrincipal, body: Body
) -> Response:
    agent_id = _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    tickets.add_agent_message(session, ticket, _parse(MessageCreate, body=body, public=False), agent_id)
    notify_mentions(session, ticket.id, body, author_id=agent_id)
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/properties", response_class=HTMLResponse)
def change_properties(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    version: Version,
    priority: Annotated[Priority, Form()],
    category: Annotated[str, Form(max_length=120)] = "",
    team_id: Annotated[str, Form(max_length=20)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Category, priority, team and tags in one form; an agent's category or team is triage feedback."""
    _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    flags = sorted({t.strip().lower().replace(" ", "_") for t in tags.split(",") if t.strip()})
    data = _parse(
        TicketUpdate,
        priority=priority,
        category=category.strip() or None,
        team_id=_team_id(team_id),
        flags=flags,
        version=version,
    )
    before = (ticket.category, ticket.team_id)
    # Only what changed is sent, so an unchanged empty category or team is not an event.
    changes = {
        k for k in ("priority", "category", "team_id", "flags") if getattr(data, k) != getattr(ticket, k)
    }
    tickets.update_ticket(
        session, ticket, TicketUpdate(**data.model_dump(include={*changes, "version"})), _actor(principal)
    )
    _triage_feedback(session, ticket, before)
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/assign", response_class=HTMLResponse)
def assign(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    version: Version,
    assignee: Annotated[str, Form(max_length=20)] = "me",
) -> Response:
    """``assignee``: "me", an agent id, or "nobody" to put the ticket back unassigned."""
    agent_id = _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    if assignee == "me":
        target: int | None = agent_id
    elif assignee == "nobody":
        target = None
    elif assignee.isdigit():
        target = int(assignee)
        # An assignee who could not open the ticket would hold work nobody sees.
        try:
            tickets.get_visible_ticket(session, ticket.id, principal_for(agents.get_agent(session, target)))
        except NotFoundError:
            raise ValidationFailedError(
                "That agent is not part of this ticket's restricted team; pick one who is."
            ) from None
    else:
        raise ValidationFailedError("Choose 'me', an agent, or nobody to assign the ticket to.")
    update = TicketUpdate(assignee_id=target, version=version)
    tickets.update_ticket(
        session, ticket, TicketUpdate(**update.model_dump(exclude_unset=True)), _actor(principal)
    )
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/transfer", response_class=HTMLResponse)
def transfer(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    version: Version,
    team_id: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=MESSAGE_BODY_MAX_CHARS)] = "",
) -> Response:
    """Hand the ticket to another team (unassigned there), with a note telling them why."""
    agent_id = _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    target = _team_id(team_id)
    if target is None:
        raise ValidationFailedError("Choose the team to transfer the ticket to.")
    if target == ticket.team_id:
        raise ValidationFailedError("The ticket is in that team already; choose another team.")
    before = (ticket.category, ticket.team_id)
    reason = " ".join(note.split())[:1000] or "transferred"
    tickets.update_ticket(
        session,
        ticket,
        TicketUpdate(team_id=target, assignee_id=None, reason=reason, version=version),
        _actor(principal),
    )
    if note.strip():
        tickets.add_agent_message(session, ticket, MessageCreate(body=note, public=False), agent_id)
        notify_mentions(session, ticket.id, note, author_id=agent_id)
    _triage_feedback(session, ticket, before)
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/resolve", response_class=HTMLResponse)
def resolve(
    ticket_id: RecordId, request: Request, session: SessionDep, principal: CurrentPrincipal, version: Version
) -> Response:
    _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    tickets.change_status(session, ticket, StatusChange(status=TicketStatus.RESOLVED), _actor(principal))
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/messages/{message_id}/retry", response_class=HTMLResponse)
def retry_delivery(
    ticket_id: RecordId,
    message_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    message = tickets.get_message(session, message_id)
    if message is None or message.ticket_id != ticket.id:
        raise NotFoundError(f"No reply {message_id} on ticket {ticket_id}.")
    channels.retry_delivery(session, message.id)
    return _view(request, session, principal, ticket)


@router.get("/tickets/{ticket_id:int}/articles", response_class=HTMLResponse)
def suggested_articles(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """Agent search over the knowledge base (internal articles included); empty ``q``: the subject."""
    ticket = _visible(session, ticket_id, principal)
    query = q.strip() or ticket.subject
    result = knowledge.search(session, query, audience="agent", limit=5) if query else None
    # An internal article is for agents only: shown, but never offered as a link for the customer.
    internal = {
        s.article_id
        for s in (result.suggestions if result else [])
        if not knowledge.is_visible_to_customers(knowledge.get_article(session, s.article_id))
    }
    return templates.TemplateResponse(
        request,
        "workspace/_articles.html",
        {
            "result": result,
            "query": query,
            "internal": internal,
            "base_url": str(request.base_url).rstrip("/"),
        },
    )


def _actor(principal: Principal) -> Any:
    return tickets.Actor.of(principal)


def _team_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValidationFailedError(f"{value!r} is not a team; choose one from the list.")
    return int(value)


def _parse(model: Any, **values: Any) -> Any:
    """Build an API shape from form fields; what it refuses is a 422 naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ValidationFailedError(f"Check the form: {problems}.") from None


def _triage_feedback(session: Session, ticket: Any, before: tuple[str | None, int | None]) -> None:
    """An agent's category or team, different from what was there, trains the next triage model."""
    category, team_id = before
    if ticket.category and ticket.category != category:
        triage.record_category_correction(session, ticket)
    if ticket.team_id and ticket.team_id != team_id:
        triage.record_team_correction(session, ticket)


# --- the escalation ladder (escalation/service.py; the panel is escalation/panel.py) -----------------

Note = Annotated[str, Form(max_length=10_000)]


def _after_move(request: Request, session: Session, principal: Principal, ticket: Any) -> Response:
    """The re-rendered view, or, when the move took the ticket into a restricted team the agent is not
    part of, a note saying where it went (the view itself is theirs no longer)."""
    try:
        tickets.get_visible_ticket(session, ticket.id, principal)
    except NotFoundError:
        return HTMLResponse(
            '<div id="ticket-view"><p class="notice" data-testid="moved-out-of-sight">'
            f"Ticket #{ticket.id} went to a restricted team; only its members follow it from here.</p></div>"
        )
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/escalate", response_class=HTMLResponse)
def escalate(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    version: Version,
    reason: Annotated[str, Form(min_length=1, max_length=80)],
    note: Note = "",
    to_level: Annotated[str, Form(max_length=20)] = "",
    to_team_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Escalate with a reason and a handoff note: up to the next or a chosen level, or ("same") sideways."""
    _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    team = _team_id(to_team_id)
    level: EscalationLevel | None = None
    if to_level == "same":
        if team is None:
            raise ValidationFailedError("Choose the team to move the ticket to at this level.")
    elif to_level:
        try:
            level = EscalationLevel(to_level)
        except ValueError:
            raise ValidationFailedError(f"{to_level!r} is not a level; choose one from the list.") from None
    escalation.escalate(
        session,
        ticket.id,
        to_level=level,
        to_team_id=team,
        reason=reason,
        note=note,
        actor=_actor(principal),
    )
    return _after_move(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/escalation/acknowledge", response_class=HTMLResponse)
def acknowledge_escalation(
    ticket_id: RecordId, request: Request, session: SessionDep, principal: CurrentPrincipal, version: Version
) -> Response:
    agent_id = _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    escalation.acknowledge(session, ticket.id, agents.get_agent(session, agent_id))
    return _view(request, session, principal, ticket)


@router.post("/tickets/{ticket_id:int}/de-escalate", response_class=HTMLResponse)
def de_escalate(
    ticket_id: RecordId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    version: Version,
    note: Annotated[str, Form(max_length=10_000)],
) -> Response:
    _agent_only(principal)
    ticket = _visible(session, ticket_id, principal)
    _check_version(ticket, version)
    escalation.de_escalate(session, ticket.id, note=note, actor=_actor(principal))
    return _view(request, session, principal, ticket)
