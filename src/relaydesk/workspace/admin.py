"""Admin pages for what routing is configured with: agents (role, teams, skills with levels,
languages, tier, capacity per channel, time zone, working hours), teams (parent for overflow,
members) and overviews of skills and languages.

Admins edit; leads and managers read. Every change goes through ``agents.service`` with the API's
own schemas (``AgentCreate``, ``AgentUpdate``, ``TeamCreate``, ``TeamUpdate``), so a form refuses
exactly what the API refuses; the reason is shown next to the field it is about, with a 4xx.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from relaydesk.agents import service as agents
from relaydesk.agents.dependencies import OptionalSessionAgent
from relaydesk.agents.schemas import (
    AgentCreate,
    AgentUpdate,
    TeamCreate,
    TeamUpdate,
    working_hours_problem,
)
from relaydesk.auth.roles import Role
from relaydesk.kit.errors import RelaydeskError
from relaydesk.tickets.enums import Channel
from relaydesk.web.deps import SessionDep
from relaydesk.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from relaydesk.agents.models import Agent, Team

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Channels an agent can hold conversations on (internal notes take no capacity).
CAPACITY_CHANNELS = tuple(c.value for c in Channel if c is not Channel.INTERNAL)
SKILL_ROWS_EXTRA = 3  # empty rows under an agent's skills, for new ones


async def _form(request: Request) -> FormData:
    # Parsed once here (async) so the routes can stay synchronous around the database.
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


# -- access ----------------------------------------------------------------------------------------------


def _csrf(request: Request) -> str:
    data = getattr(request.state, "session_data", None)
    return data.csrf_token if data else ""


def _can_edit(agent: Agent) -> bool:
    return Role(agent.role).at_least(Role.ADMIN)


def _message(request: Request, agent: Agent, title: str, message: str, status_code: int) -> Response:
    return templates.TemplateResponse(
        request,
        "workspace/admin_message.html",
        {"agent": agent, "csrf_token": _csrf(request), "title": title, "message": message},
        status_code=status_code,
    )


def _refusal(
    request: Request, agent: Agent | None, *, edit: bool, form: FormData | None = None
) -> Response | None:
    """Why this request may not go on (a response to send), or None: the gate of every admin route."""
    if agent is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    needed = Role.ADMIN if edit else Role.LEAD
    if not Role(agent.role).at_least(needed):
        what = "Changing agents and teams" if edit else "The admin pages"
        return _message(
            request,
            agent,
            "Not allowed",
            f"{what} need the {needed} role; you are signed in as {agent.role}.",
            403,
        )
    if form is not None:
        data = request.state.session_data
        if not data.csrf_matches(str(form.get("csrf_token", ""))):
            return _message(
                request, agent, "Form expired", "Your form expired; reload the page and try again.", 403
            )
    return None


def _page(
    request: Request, agent: Agent, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    base = {"agent": agent, "csrf_token": _csrf(request), "can_edit": _can_edit(agent), "section": name}
    return templates.TemplateResponse(
        request, f"workspace/admin_{name}.html", {**base, **context}, status_code=status_code
    )


# -- turning a form into the API's schema, and its errors back into fields --------------------------------


@dataclass
class FormErrors:
    """Messages per form field (``"timezone"``, ``"hours.mon"``, ``"capacity.email"``, ``"form"``)."""

    by_field: dict[str, str] = field(default_factory=dict)
    status_code: int = 422

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _explain(exc: ValidationError, errors: FormErrors) -> None:
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        name = str(loc[0]) if loc else "form"
        if name == "skills" and len(loc) > 2:
            message = f"skill {int(loc[1]) + 1}, {loc[2]}: {message}"
        errors.add(name, message)


@contextmanager
def _saving(session: Session, errors: FormErrors) -> Iterator[None]:
    """Run a service call in a savepoint: a refusal undoes its partial changes and becomes a field error."""
    try:
        with session.begin_nested():
            yield
    except ValidationError as exc:
        _explain(exc, errors)
    except RelaydeskError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        errors.add(str(details.get("field", "form")), exc.message)
        errors.status_code = exc.status_code if 400 <= exc.status_code < 500 else 400


def _ids(form: FormData, name: str) -> list[int]:
    return [int(str(value)) for value in form.getlist(name) if str(value).isdigit()]


def _split(raw: str) -> list[str]:
    return [part for part in re.split(r"[,\s]+", raw) if part]


def _agent_fields(
    form: FormData, errors: FormErrors, *, extra_channels: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The agent form as the API's JSON body (``AgentCreate``/``AgentUpdate`` validate it)."""
    text = {key: str(value).strip() for key, value in form.multi_items() if isinstance(value, str)}
    body: dict[str, Any] = {
        "name": text.get("name", ""),
        "role": text.get("role", "agent"),
        "tier_level": text.get("tier_level", "1"),
        "languages": _split(text.get("languages", "")),
        "timezone": text.get("timezone", "") or "UTC",
        "team_ids": [],
    }
    for raw in form.getlist("team_ids"):
        if str(raw).isdigit():
            body["team_ids"].append(int(str(raw)))
        else:
            errors.add("team_ids", f"{raw!r} is not a team.")
    capacity: dict[str, int] = {}
    for channel in dict.fromkeys((*CAPACITY_CHANNELS, *extra_channels)):
        raw = text.get(f"capacity.{channel}", "")
        if not raw:
            continue
        if not re.fullmatch(r"\d{1,4}", raw):
            errors.add(f"capacity.{channel}", f"{raw!r}: enter how many conversations at once, e.g. 3.")
            continue
        capacity[channel] = int(raw)
    body["capacity"] = capacity
    hours: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        spans = [s.strip() for s in text.get(f"hours.{day}", "").split(",") if s.strip()]
        if not spans:
            continue
        problem = working_hours_problem({day: spans})
        if problem:
            errors.add(f"hours.{day}", problem.removeprefix(f"working_hours.{day}: "))
        hours[day] = spans
    body["working_hours"] = hours
    skills = []
    names, levels = form.getlist("skill"), form.getlist("level")
    for row, (name, level) in enumerate(zip(names, levels, strict=False), start=1):
        name, level = str(name).strip(), str(level).strip()
        if not name:
            continue
        if not level.isdigit():
            errors.add("skills", f"skill {row} ({name}): choose a level from 1 to 5.")
            continue
        skills.append({"skill": name, "level": int(level)})
    body["skills"] = skills
    return body


def _agent_values(agent: Agent | None, form: FormData | None = None) -> dict[str, Any]:
    """What the form shows: the agent's saved values, or what was just submitted."""
    if form is not None:
        text = {key: str(value) for key, value in form.multi_items() if isinstance(value, str)}
        skills = [
            {"skill": str(n), "level": str(lv)}
            for n, lv in zip(form.getlist("skill"), form.getlist("level"), strict=False)
            if str(n).strip()
        ]
        return {
            **text,
            "active": "active" in form,
            "team_ids": set(_ids(form, "team_ids")),
            "skills": skills,
        }
    if agent is None:
        return {"role": "agent", "tier_level": "1", "languages": "en", "timezone": "UTC", "active": True,
                "team_ids": set(), "skills": []}  # fmt: skip
    values: dict[str, Any] = {
        "email": agent.email,
        "name": agent.name,
        "role": str(agent.role),
        "tier_level": str(agent.tier_level),
        "languages": ", ".join(agent.languages),
        "timezone": agent.timezone,
        "active": agent.active,
        "team_ids": set(agent.team_ids),
        "skills": [
            {"skill": s.skill, "level": str(s.level)} for s in sorted(agent.skills, key=lambda s: s.skill)
        ],
    }
    values.update({f"capacity.{ch}": str(n) for ch, n in agent.capacity.items()})
    values.update({f"hours.{day}": ", ".join(spans) for day, spans in agent.working_hours.items()})
    return values


@lru_cache(maxsize=1)
def _timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _agent_form_context(
    session: Session, agent: Agent | None, values: dict[str, Any], errors: FormErrors
) -> dict[str, Any]:
    extra = tuple(ch for ch in (agent.capacity if agent else {}) if ch not in CAPACITY_CHANNELS)
    return {
        "subject": agent,
        "values": values,
        "errors": errors.by_field,
        "roles": list(Role),
        "tiers": range(1, 7),
        "levels": range(1, 6),
        "teams": agents.list_teams(session),
        "channels": (*CAPACITY_CHANNELS, *extra),
        "weekdays": WEEKDAYS,
        "timezones": _timezones(),
        "skill_rows": [*values.get("skills", []), *([{"skill": "", "level": "1"}] * SKILL_ROWS_EXTRA)],
    }


# -- agents ------------------------------------------------------------------------------------------------


@router.get("/agents", response_class=HTMLResponse)
def agent_list(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    teams = agents.list_teams(session)
    return _page(
        request,
        agent,
        "agents",
        {"agents": agents.list_agents(session), "team_names": {t.id: t.name for t in teams}},
    )


@router.get("/agents/new", response_class=HTMLResponse)
def new_agent_form(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if (refused := _refusal(request, agent, edit=True)) is not None:
        return refused
    assert agent is not None
    return _page(
        request, agent, "agent", _agent_form_context(session, None, _agent_values(None), FormErrors())
    )


@router.post("/agents/new", response_class=HTMLResponse)
def create_agent(
    request: Request, session: SessionDep, agent: OptionalSessionAgent, form: FormDep
) -> Response:
    if (refused := _refusal(request, agent, edit=True, form=form)) is not None:
        return refused
    assert agent is not None
    errors = FormErrors()
    body = _agent_fields(form, errors)
    body["email"] = str(form.get("email", "")).strip()
    body["password"] = str(form.get("password", "")) or None
    created: list[Agent] = []
    if not errors:
        with _saving(session, errors):
            created.append(agents.create_agent(session, AgentCreate.model_validate(body)))
    if errors:
        values = _agent_values(None, form)
        values.pop("password", None)  # never echoed back into the page
        context = _agent_form_context(session, None, values, errors)
        return _page(request, agent, "agent", context, errors.status_code)
    return RedirectResponse(f"/admin/agents/{created[0].id}?saved=1", status_code=303)


def _subject(request: Request, session: Session, agent: Agent, agent_id: int) -> Agent | Response:
    try:
        return agents.get_agent(session, agent_id)
    except RelaydeskError as exc:
        return _message(request, agent, "Not found", exc.message, 404)


@router.get("/agents/{agent_id:int}", response_class=HTMLResponse)
def agent_form(agent_id: int, request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    subject = _subject(request, session, agent, agent_id)
    if isinstance(subject, Response):
        return subject
    context = _agent_form_context(session, subject, _agent_values(subject), FormErrors())
    context["saved"] = request.query_params.get("saved") == "1"
    context["presence_changes"] = agents.status_changes(session, subject.id, limit=10)
    return _page(request, agent, "agent", context)


@router.post("/agents/{agent_id:int}", response_class=HTMLResponse)
def save_agent(
    agent_id: int, request: Request, session: SessionDep, agent: OptionalSessionAgent, form: FormDep
) -> Response:
    if (refused := _refusal(request, agent, edit=True, form=form)) is not None:
        return refused
    assert agent is not None
    subject = _subject(request, session, agent, agent_id)
    if isinstance(subject, Response):
        return subject
    extra = tuple(ch for ch in subject.capacity if ch not in CAPACITY_CHANNELS)
    errors = FormErrors()
    body = _agent_fields(form, errors, extra_channels=extra)
    body["active"] = "active" in form
    if subject.id == agent.id and (not body["active"] or body["role"] != str(agent.role)):
        # An admin who deactivates or demotes themselves here would lose this very page.
        errors.add(
            "role" if body["active"] else "active", "You cannot deactivate yourself or change your own role."
        )
    if not errors:
        with _saving(session, errors):
            agents.update_agent(session, subject.id, AgentUpdate.model_validate(body))
    if errors:
        context = _agent_form_context(session, subject, _agent_values(subject, form), errors)
        return _page(request, agent, "agent", context, errors.status_code)
    return RedirectResponse(f"/admin/agents/{subject.id}?saved=1", status_code=303)


# -- teams -------------------------------------------------------------------------------------------------


def _team_values(team: Team | None, members: set[int], form: FormData | None = None) -> dict[str, Any]:
    if form is not None:
        return {
            "name": str(form.get("name", "")),
            "description": str(form.get("description", "")),
            "restricted": "restricted" in form,
            "parent_id": str(form.get("parent_id", "")),
            "members": set(_ids(form, "members")),
        }
    if team is None:
        return {"name": "", "description": "", "restricted": False, "parent_id": "", "members": set()}
    return {
        "name": team.name,
        "description": team.description,
        "restricted": team.restricted,
        "parent_id": str(team.parent_id or ""),
        "members": members,
    }


def _team_body(form: FormData, errors: FormErrors) -> dict[str, Any]:
    parent = str(form.get("parent_id", "")).strip()
    if parent and not parent.isdigit():
        errors.add("parent_id", f"{parent!r} is not a team.")
    return {
        "name": str(form.get("name", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "restricted": "restricted" in form,
        "parent_id": int(parent) if parent.isdigit() else None,
    }


def _members_by_team(session: Session) -> dict[int, list[Agent]]:
    members: dict[int, list[Agent]] = defaultdict(list)
    for person in agents.list_agents(session):
        for team_id in person.team_ids:
            members[team_id].append(person)
    return members


def _teams_context(session: Session, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    teams = agents.list_teams(session)
    return {
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "members": _members_by_team(session),
        "values": values,
        "errors": errors.by_field,
    }


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    return _page(request, agent, "teams", _teams_context(session, _team_values(None, set()), FormErrors()))


@router.post("/teams", response_class=HTMLResponse)
def create_team(
    request: Request, session: SessionDep, agent: OptionalSessionAgent, form: FormDep
) -> Response:
    if (refused := _refusal(request, agent, edit=True, form=form)) is not None:
        return refused
    assert agent is not None
    errors = FormErrors()
    body = _team_body(form, errors)
    created: list[Team] = []
    if not errors:
        with _saving(session, errors):
            created.append(agents.create_team(session, TeamCreate.model_validate(body)))
    if errors:
        context = _teams_context(session, _team_values(None, set(), form), errors)
        return _page(request, agent, "teams", context, errors.status_code)
    return RedirectResponse(f"/admin/teams/{created[0].id}?saved=1", status_code=303)


def _team(request: Request, session: Session, agent: Agent, team_id: int) -> Team | Response:
    try:
        return agents.get_team(session, team_id)
    except RelaydeskError as exc:
        return _message(request, agent, "Not found", exc.message, 404)


def _team_form_context(
    session: Session, team: Team, values: dict[str, Any], errors: FormErrors
) -> dict[str, Any]:
    return {
        "team": team,
        "values": values,
        "errors": errors.by_field,
        "parents": [t for t in agents.list_teams(session) if t.id != team.id],
        "people": agents.list_agents(session),
    }


@router.get("/teams/{team_id:int}", response_class=HTMLResponse)
def team_form(team_id: int, request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    team = _team(request, session, agent, team_id)
    if isinstance(team, Response):
        return team
    members = {person.id for person in agents.list_agents(session, team_id=team.id)}
    context = _team_form_context(session, team, _team_values(team, members), FormErrors())
    context["saved"] = request.query_params.get("saved") == "1"
    return _page(request, agent, "team", context)


@router.post("/teams/{team_id:int}", response_class=HTMLResponse)
def save_team(
    team_id: int, request: Request, session: SessionDep, agent: OptionalSessionAgent, form: FormDep
) -> Response:
    if (refused := _refusal(request, agent, edit=True, form=form)) is not None:
        return refused
    assert agent is not None
    team = _team(request, session, agent, team_id)
    if isinstance(team, Response):
        return team
    errors = FormErrors()
    body = _team_body(form, errors)
    members = _ids(form, "members")
    if not errors:
        with _saving(session, errors):
            agents.update_team(session, team.id, TeamUpdate.model_validate(body))
            agents.set_team_members(session, team.id, members)
    if errors:
        context = _team_form_context(session, team, _team_values(team, set(), form), errors)
        return _page(request, agent, "team", context, errors.status_code)
    return RedirectResponse(f"/admin/teams/{team.id}?saved=1", status_code=303)


# -- overviews ---------------------------------------------------------------------------------------------


def _grouped(
    people: list[Agent], keys: Callable[[Agent], list[tuple[str, int | None]]]
) -> dict[str, list[Any]]:
    grouped: dict[str, list[tuple[Agent, int | None]]] = defaultdict(list)
    for person in people:
        for key, level in keys(person):
            grouped[key].append((person, level))
    return {
        key: sorted(holders, key=lambda pair: (-(pair[1] or 0), pair[0].name.lower()))
        for key, holders in sorted(grouped.items())
    }


@router.get("/skills", response_class=HTMLResponse)
def skills_overview(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    """Which skills exist and who has them at what level (active agents, strongest first)."""
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    people = list(agents.list_agents(session, active=True))
    skills = _grouped(people, lambda person: [(s.skill, s.level) for s in person.skills])
    return _page(request, agent, "skills", {"skills": skills})


@router.get("/languages", response_class=HTMLResponse)
def languages_overview(request: Request, session: SessionDep, agent: OptionalSessionAgent) -> Response:
    """Which languages active agents answer in, and who."""
    if (refused := _refusal(request, agent, edit=False)) is not None:
        return refused
    assert agent is not None
    people = list(agents.list_agents(session, active=True))
    languages = _grouped(people, lambda person: [(code, None) for code in person.languages])
    return _page(request, agent, "languages", {"languages": languages})
