"""The supervisor view (leads and above): each queue's waiting count, longest and expected wait; the
agents online per skill and per language with their load; offers declined or timed out; each queue's
waiting tickets (the longest waiting first, ``WAITING_SHOWN`` per queue); and reassigning a waiting or
assigned ticket to an agent, or back to its queue, from the view.

The numbers come from routing's public surface (``queue_overview``, ``agent_loads``,
``offer_outcomes``, ``waiting_tickets``, ``reassign``, ``requeue``); the figures and the waiting lists
refresh through htmx every few seconds (``GET /supervisor/panel``; a choice being made in a row holds the
refresh, see errors.js), the answers to a reassign are shown above the panel. A reassign names the
ticket's version as the supervisor saw it: when the ticket changed meanwhile the answer is 409 with a
message, never a blind move.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import OptionalSessionAgent, principal_for
from relaydesk.agents.enums import AgentStatus
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import ConflictError, NotFoundError
from relaydesk.kit.ids import MAX_ID, RecordId
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.routing import service as routing
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import QueueKind
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.agents.models import Agent
    from relaydesk.tickets.models import Ticket

__all__ = ["router", "supervisor_numbers"]

router = APIRouter(include_in_schema=False)

OUTCOMES_WINDOW = timedelta(hours=24)
WAITING_SHOWN = 20  # per queue: the page stays small however long the queue is


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{int(seconds)} s"
    return f"{round(seconds / 60)} min"


def supervisor_numbers(session: Session) -> dict[str, Any]:
    """What the view shows: queues, online agents per skill and language with their load, the agents'
    table and the offer outcomes of the last 24 hours."""
    queues = [
        {
            "queue": q.queue.value,
            "waiting": q.waiting,
            "longest_wait": _minutes(q.longest_wait_seconds),
            # None: no basis (nothing handled recently or nobody online), shown as such.
            "expected_wait": _minutes(q.expected_wait_seconds)
            if q.expected_wait_seconds is not None
            else "no basis yet",
        }
        for q in routing.queue_overview(session)
    ]
    loads = {load.agent_id: load for load in routing.agent_loads(session)}
    people = [a for a in agents.list_agents(session, active=True) if a.id in loads]
    by_skill: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = []
    for person in sorted(people, key=lambda a: a.name.lower()):
        load = loads[person.id]
        rows.append(
            {
                "agent_id": person.id,
                "name": person.name,
                "status": load.status,
                "skills": ", ".join(f"{s.skill} {s.level}" for s in person.skills),
                "languages": ", ".join(person.languages) or "any",
                "load": load.load,
                "open_tickets": load.open_tickets,
                "open_offers": load.open_offers,
                "capacity": load.capacity,
            }
        )
        if person.status is not AgentStatus.ONLINE:
            continue
        for skill in person.skills:
            by_skill[skill.skill].append({"name": person.name, "level": skill.level, "load": load.load})
        for language in person.languages or ["any"]:
            by_language[language].append({"name": person.name, "load": load.load})
    since = utcnow() - OUTCOMES_WINDOW
    outcomes = routing.offer_outcomes(session, since)
    names = {a.id: a.name for a in people}
    refused = [
        {
            "agent_id": agent_id,
            "name": names.get(agent_id, f"Agent {agent_id}"),
            "declined": counts.get("declined", 0),
            "expired": counts.get("expired", 0),
        }
        for agent_id, counts in sorted(outcomes.by_agent.items())
        if counts.get("declined", 0) or counts.get("expired", 0)
    ]
    waiting = _waiting(session, names)
    return {
        "queues": queues,
        "waiting": waiting,
        "waiting_shown": WAITING_SHOWN,
        # The rows' quick choice: who can take work now, least loaded first (anyone else: the full form).
        "online": sorted(
            (r for r in rows if r["status"] != AgentStatus.OFFLINE.value),
            key=lambda r: (r["load"], r["name"]),
        ),
        "agents": rows,
        "by_skill": dict(sorted(by_skill.items())),
        "by_language": dict(sorted(by_language.items())),
        "outcomes": outcomes.totals,
        "refused": refused,
    }


def _waiting(session: Session, names: dict[int, str]) -> dict[str, list[dict[str, Any]]]:
    now = utcnow()
    shown: dict[str, list[Any]] = {
        q.value: routing.waiting_tickets(session, q, WAITING_SHOWN)
        for q in (QueueKind.LIVE, QueueKind.MESSAGING)
    }
    found = {w.ticket_id: tickets.get_ticket(session, w.ticket_id) for ws in shown.values() for w in ws}
    out: dict[str, list[dict[str, Any]]] = {}
    for queue, ws in shown.items():
        out[queue] = []
        for w in ws:
            ticket = found[w.ticket_id]
            if ticket is None:
                continue
            out[queue].append(
                {
                    "id": ticket.id,
                    "subject": ticket.subject or f"Ticket {ticket.id}",
                    "channel": ticket.channel.value.replace("_", " "),
                    "priority": ticket.priority.value,
                    "version": ticket.version,
                    "waited": _minutes((now - as_utc(w.queued_at)).total_seconds()),
                    "offered_to": names.get(w.offered_to, f"Agent {w.offered_to}") if w.offered_to else None,
                }
            )
    return out


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


def _allowed(agent: Agent | None) -> bool:
    return agent is not None and Role(agent.role).at_least(Role.LEAD)


def _page(
    request: Request,
    session: Session,
    agent: Agent,
    *,
    ticket_id: int | None = None,
    message: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    chosen = None
    if ticket_id is not None:
        try:
            found = tickets.get_visible_ticket(session, ticket_id, principal_for(agent))
            chosen = {
                "id": found.id,
                "subject": found.subject or f"Ticket {found.id}",
                "status": found.status.value,
                "assignee_id": found.assignee_id,
                "version": found.version,
            }
        except NotFoundError:
            error = error or f"No ticket {ticket_id} that you can see."
            status_code = 404 if status_code == 200 else status_code
    people = agents.list_agents(session, active=True)
    return templates.TemplateResponse(
        request,
        "workspace/supervisor.html",
        {
            "agent": agent,
            "csrf_token": _csrf(request),
            **supervisor_numbers(session),
            "chosen": chosen,
            "choices": sorted(people, key=lambda a: a.name.lower()),
            "agent_names": {a.id: a.name for a in people},
            "message": message,
            "error": error,
        },
        status_code=status_code,
    )


def _refused(request: Request, agent: Agent) -> Response:
    return templates.TemplateResponse(
        request,
        "workspace/supervisor_refused.html",
        {"agent": agent, "csrf_token": _csrf(request)},
        status_code=403,
    )


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    ticket: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    if agent is None:
        return RedirectResponse("/login?next=/supervisor", status_code=303)
    if not _allowed(agent):
        return _refused(request, agent)
    return _page(request, session, agent, ticket_id=ticket)


@router.get("/supervisor/panel", response_class=HTMLResponse)
def supervisor_panel(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if agent is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    if not _allowed(agent):
        return Response("This view needs the lead role or above.", status_code=403)
    return templates.TemplateResponse(
        request,
        "workspace/_supervisor_numbers.html",
        {**supervisor_numbers(session), "csrf_token": _csrf(request)},
    )


def _csrf_ok(request: Request, token: str) -> bool:
    data = getattr(request.state, "session_data", None)
    return data is not None and data.csrf_matches(token)


def _as_seen(session: Session, agent: Agent, ticket_id: int, version: int) -> Ticket:
    """The ticket, locked, as long as it is the version the supervisor saw (409 otherwise)."""
    ticket = tickets.get_visible_ticket(session, ticket_id, principal_for(agent))
    locked = tickets.lock_ticket(session, ticket.id)
    if locked is None or locked.version != version:
        raise ConflictError(
            f"Ticket {ticket_id} changed since you looked at it (version {version}, now "
            f"{locked.version if locked else 'gone'}): check it again before moving it."
        )
    return locked


def _move(
    request: Request,
    session: Session,
    agent: Agent | None,
    ticket_id: int,
    version: int,
    csrf_token: str,
    move: Callable[[Ticket, tickets.Actor], str],
) -> Response:
    """A supervisor's move of one ticket, as the supervisor saw it (version): sign-in, role and CSRF
    checked first; what the move refuses is shown above the list (404, 409); its message otherwise."""
    if agent is None:
        return RedirectResponse("/login?next=/supervisor", status_code=303)
    if not _allowed(agent):
        return _refused(request, agent)
    if not _csrf_ok(request, csrf_token):
        return _page(request, session, agent, error="The page is out of date: reload it.", status_code=403)
    try:
        locked = _as_seen(session, agent, ticket_id, version)
        message = move(locked, tickets.Actor.of(principal_for(agent)))
    except NotFoundError as exc:
        return _page(request, session, agent, ticket_id=ticket_id, error=exc.message, status_code=404)
    except ConflictError as exc:
        return _page(request, session, agent, ticket_id=ticket_id, error=exc.message, status_code=409)
    return _page(request, session, agent, ticket_id=ticket_id, message=message)


@router.post("/supervisor/reassign", response_class=HTMLResponse)
def reassign(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    ticket_id: Annotated[RecordId, Form()],
    agent_id: Annotated[RecordId, Form()],
    version: Annotated[int, Form(ge=1)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    def to_agent(locked: Ticket, actor: tickets.Actor) -> str:
        target = agents.get_agent(session, agent_id)
        moved = routing.reassign(session, locked, target.id, actor)
        return f"Ticket {moved.id} is now {target.name}'s."

    return _move(request, session, agent, ticket_id, version, csrf_token, to_agent)


@router.post("/supervisor/requeue", response_class=HTMLResponse)
def requeue(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    ticket_id: Annotated[RecordId, Form()],
    version: Annotated[int, Form(ge=1)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    def back_to_queue(locked: Ticket, actor: tickets.Actor) -> str:
        decision = routing.return_to_queue(session, locked, actor)
        if decision.agent_id is not None:
            taker = agents.get_agent(session, decision.agent_id).name
            outcome = f"assigned to {taker}" if decision.assigned else f"offered to {taker}"
        else:
            outcome = "waiting: nobody eligible is free yet"
        queue = decision.queue.value if decision.queue else "its"
        return f"Ticket {locked.id} is back in the {queue} queue, {outcome}."

    return _move(request, session, agent, ticket_id, version, csrf_token, back_to_queue)
