"""Inbox views: the built-in ones (mine, my teams, unassigned, needs triage, all), the filters an agent
can add to any of them, and the views each agent saves under a name (table ``saved_views``).

``InboxFilters`` is the one validated shape of "what the inbox shows": parsed from the page's query
string, stored as a saved view's JSON, and turned into the tickets domain's ``TicketFilters`` by
``ticket_filters``. A new filter is a field here and a line in ``ticket_filters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from relaydesk.agents.dependencies import CurrentPrincipal, OptionalSessionAgent
from relaydesk.auth.roles import Principal
from relaydesk.kit.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RelaydeskError,
    ValidationFailedError,
)
from relaydesk.kit.ids import RecordId
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import Channel, Priority, QueueKind, TicketSort, TicketStatus
from relaydesk.tickets.schemas import Flag
from relaydesk.web.deps import SessionDep
from relaydesk.workspace.models_views import SavedView

__all__ = [
    "MAX_SAVED_VIEWS",
    "OPEN_STATUSES",
    "BuiltinView",
    "InboxFilters",
    "SavedViewOut",
    "api_router",
    "create_view",
    "delete_view",
    "explain",
    "filters_from_query",
    "list_views",
    "move_view",
    "rename_view",
    "router",
    "ticket_filters",
]

router = APIRouter(include_in_schema=False)

MAX_SAVED_VIEWS = 30
# Work that is not done yet: what every view but "all" shows unless a status filter says otherwise.
OPEN_STATUSES = tuple(s for s in TicketStatus if s not in {TicketStatus.RESOLVED, TicketStatus.CLOSED})


class BuiltinView(StrEnum):
    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    TRIAGE = "triage"
    ALL = "all"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    BuiltinView.MINE: "Mine",
    BuiltinView.TEAM: "My teams",
    BuiltinView.UNASSIGNED: "Unassigned",
    BuiltinView.TRIAGE: "Needs triage",
    BuiltinView.ALL: "All",
}

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
ViewName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class InboxFilters(BaseModel):
    """A built-in view narrowed by filters; every list means "any of these" except flags and tags
    (every one of them). Tags are the ticket's ``flags`` an agent sets: one list on the ticket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    view: BuiltinView = BuiltinView.ALL
    status: list[TicketStatus] = Field(default_factory=list, max_length=len(TicketStatus))
    priority: list[Priority] = Field(default_factory=list, max_length=len(Priority))
    channel: list[Channel] = Field(default_factory=list, max_length=len(Channel))
    queue: list[QueueKind] = Field(default_factory=list, max_length=len(QueueKind))
    team_id: RecordId | None = None
    language: Language | None = None
    flag: list[Flag] = Field(default_factory=list, max_length=10)
    tag: list[Flag] = Field(default_factory=list, max_length=10)
    sort: TicketSort = TicketSort.NEWEST

    @field_validator("status", "priority", "channel", "queue", "flag", "tag")
    @classmethod
    def _distinct(cls, values: list[Any]) -> list[Any]:
        return sorted(set(values))

    def query(self) -> list[tuple[str, str]]:
        """The query string pairs that give these filters back (defaults left out)."""
        pairs: list[tuple[str, str]] = []
        for name, value in self.model_dump(mode="json", exclude_defaults=True).items():
            pairs.extend((name, str(v)) for v in (value if isinstance(value, list) else [value]))
        return pairs


_LIST_FIELDS = frozenset({"status", "priority", "channel", "queue", "flag", "tag"})


def filters_from_query(params: QueryParams, *, besides: frozenset[str] = frozenset()) -> InboxFilters:
    """The filters a page's query string names; empty values ("Any" in a select) are left out.

    A name that is neither a filter nor one of ``besides`` (the page's own parameters) is refused, so
    a typo in a bookmarked address says so instead of silently showing everything."""
    unknown = sorted(set(params.keys()) - set(InboxFilters.model_fields) - besides)
    if unknown:
        raise ValidationFailedError(
            f"Unknown filter {', '.join(map(repr, unknown))}; the inbox filters by "
            + ", ".join(InboxFilters.model_fields)
            + "."
        )
    raw: dict[str, Any] = {}
    for name in InboxFilters.model_fields:
        values = [v.strip() for v in params.getlist(name) if v.strip()]
        if values:
            raw[name] = values if name in _LIST_FIELDS else values[-1]
    try:
        return InboxFilters.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailedError(explain(exc)) from None


def explain(exc: ValidationError) -> str:
    """One sentence per problem, naming the filter, for the page to show."""
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "filters"
        problems.append(f"{where}: {error['msg']}")
    return "Check the filters: " + "; ".join(problems) + "."


def ticket_filters(
    filters: InboxFilters, agent_id: int, agent_team_ids: frozenset[int]
) -> tickets.TicketFilters:
    """The tickets domain's filters for what ``filters`` shows to this agent (visibility is applied
    by ``tickets.service``, which hides restricted teams' tickets from outsiders)."""
    view = filters.view
    status = list(filters.status) or (list(OPEN_STATUSES) if view is not BuiltinView.ALL else None)
    # The triage view is a queue: a queue filter beside it would only ever narrow it to nothing.
    queue = [QueueKind.TRIAGE] if view is BuiltinView.TRIAGE else list(filters.queue) or None
    return tickets.TicketFilters(
        status=status,
        priority=list(filters.priority) or None,
        team_id=filters.team_id,
        team_ids=agent_team_ids if view is BuiltinView.TEAM else None,
        assignee_id=agent_id if view is BuiltinView.MINE else None,
        unassigned=view is BuiltinView.UNASSIGNED,
        channels=list(filters.channel) or None,
        queue=queue,
        language=filters.language,
        flags=frozenset(filters.flag) | frozenset(filters.tag),
    )


# --- Saved views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedViewOut:
    id: int
    name: str
    position: int
    filters: InboxFilters | None  # None: saved with filters this version no longer accepts
    problem: str | None = None


def _out(row: SavedView) -> SavedViewOut:
    try:
        filters = InboxFilters.model_validate(row.filters)
    except ValidationError as exc:
        return SavedViewOut(row.id, row.name, row.position, None, explain(exc))
    return SavedViewOut(row.id, row.name, row.position, filters)


def list_views(session: Session, agent_id: int) -> list[SavedViewOut]:
    rows = session.scalars(
        select(SavedView).where(SavedView.agent_id == agent_id).order_by(SavedView.position, SavedView.id)
    )
    return [_out(row) for row in rows]


def _own(session: Session, agent_id: int, view_id: int) -> SavedView:
    row = session.get(SavedView, view_id)
    # Another agent's view answers as a missing one: its name says nothing to anyone else.
    if row is None or row.agent_id != agent_id:
        raise NotFoundError(f"You have no saved view {view_id}.")
    return row


_VIEW_NAME: TypeAdapter[str] = TypeAdapter(ViewName)


def _name(raw: str) -> str:
    try:
        return _VIEW_NAME.validate_python(raw)
    except ValidationError:
        raise ValidationFailedError("A view's name is 1 to 60 characters.") from None


def _check_free(session: Session, agent_id: int, name: str, *, other_than: int | None = None) -> None:
    same = select(SavedView.id).where(SavedView.agent_id == agent_id, SavedView.name == name)
    if other_than is not None:
        same = same.where(SavedView.id != other_than)
    if session.scalar(same) is not None:
        raise ConflictError(f"You already have a view named '{name}'; pick another name or rename that one.")


def create_view(session: Session, agent_id: int, name: str, filters: InboxFilters) -> SavedViewOut:
    name = _name(name)
    _check_free(session, agent_id, name)
    existing = session.scalar(select(func.count()).where(SavedView.agent_id == agent_id)) or 0
    if existing >= MAX_SAVED_VIEWS:
        raise ConflictError(f"You have {MAX_SAVED_VIEWS} saved views already; delete one to save another.")
    last = session.scalar(select(func.max(SavedView.position)).where(SavedView.agent_id == agent_id))
    row = SavedView(
        agent_id=agent_id,
        name=name,
        filters=filters.model_dump(mode="json", exclude_defaults=True),
        position=(last or 0) + 1,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same name saved at the same moment from another tab
        raise ConflictError(f"You already have a view named '{name}'.") from None
    return _out(row)


def rename_view(session: Session, agent_id: int, view_id: int, name: str) -> SavedViewOut:
    row = _own(session, agent_id, view_id)
    name = _name(name)
    _check_free(session, agent_id, name, other_than=row.id)
    row.name = name
    session.flush()
    return _out(row)


def move_view(session: Session, agent_id: int, view_id: int, position: int) -> list[SavedViewOut]:
    """Put the view at ``position`` (1 is first; past the end is last) among the agent's views, the
    others keeping their order; answers the views in their new order."""
    row = _own(session, agent_id, view_id)
    if position < 1:
        raise ValidationFailedError("A view's position is 1 (the first) or more.")
    rows = list(
        session.scalars(
            select(SavedView).where(SavedView.agent_id == agent_id).order_by(SavedView.position, SavedView.id)
        )
    )
    rows.remove(row)
    rows.insert(min(position, len(rows) + 1) - 1, row)
    for number, each in enumerate(rows, start=1):  # renumbered 1..n: no gaps, no ties left behind
        each.position = number
    session.flush()
    return [_out(each) for each in rows]


def delete_view(session: Session, agent_id: int, view_id: int) -> None:
    session.delete(_own(session, agent_id, view_id))
    session.flush()


# --- The page's forms: post, then back to the inbox (errors re-render it with a 4xx) -----------------

TextField = Annotated[str, Form(max_length=500)]


def _csrf_ok(request: Request, token: str) -> bool:
    data = getattr(request.state, "session_data", None)
    return data is not None and data.csrf_matches(token)


def _refused(request: Request, session: Session, agent: object, exc: RelaydeskError) -> Response:
    from relaydesk.workspace.inbox import render_inbox  # the page this form sits on

    return render_inbox(
        request, session, agent, InboxFilters(), error=exc.message, status_code=exc.status_code
    )


def _guard(request: Request, agent: object, csrf_token: str) -> Response | None:
    if agent is None:
        return RedirectResponse("/login?next=/tickets", status_code=303)
    if not _csrf_ok(request, csrf_token):
        return Response(
            "The form expired (missing or wrong CSRF token): reload the page and try again.",
            status_code=403,
            media_type="text/plain",
        )
    return None


@router.post("/tickets/views")
def save_view(
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    name: TextField = "",
    filters: TextField = "",
    csrf_token: TextField = "",
) -> Response:
    """Save the filters the page shows (``filters``: their query string) under ``name``."""
    if (refused := _guard(request, agent, csrf_token)) is not None:
        return refused
    assert agent is not None
    try:
        wanted = filters_from_query(QueryParams(filters))
        view = create_view(session, agent.id, name, wanted)
    except RelaydeskError as exc:
        return _refused(request, session, agent, exc)
    return RedirectResponse(f"/tickets?saved={view.id}", status_code=303)


@router.post("/tickets/views/{view_id:int}/rename")
def rename_saved_view(
    view_id: int,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    name: TextField = "",
    csrf_token: TextField = "",
) -> Response:
    if (refused := _guard(request, agent, csrf_token)) is not None:
        return refused
    assert agent is not None
    try:
        rename_view(session, agent.id, view_id, name)
    except RelaydeskError as exc:
        return _refused(request, session, agent, exc)
    return RedirectResponse(f"/tickets?saved={view_id}", status_code=303)


@router.post("/tickets/views/{view_id:int}/delete")
def delete_saved_view(
    view_id: int,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    csrf_token: TextField = "",
) -> Response:
    if (refused := _guard(request, agent, csrf_token)) is not None:
        return refused
    assert agent is not None
    try:
        delete_view(session, agent.id, view_id)
    except RelaydeskError as exc:
        return _refused(request, session, agent, exc)
    return RedirectResponse("/tickets", status_code=303)


class Move(StrEnum):
    UP = "up"
    DOWN = "down"


@router.post("/tickets/views/{view_id:int}/move")
def move_saved_view(
    view_id: int,
    request: Request,
    session: SessionDep,
    agent: OptionalSessionAgent,
    to: Annotated[Move, Form()],
    csrf_token: TextField = "",
) -> Response:
    """One place up or down in the sidebar."""
    if (refused := _guard(request, agent, csrf_token)) is not None:
        return refused
    assert agent is not None
    try:
        mine = list_views(session, agent.id)
        now = next((n for n, v in enumerate(mine, start=1) if v.id == view_id), None)
        if now is None:
            raise NotFoundError(f"You have no saved view {view_id}.")
        move_view(session, agent.id, view_id, max(1, now - 1) if to is Move.UP else now + 1)
    except RelaydeskError as exc:
        return _refused(request, session, agent, exc)
    return RedirectResponse(f"/tickets?saved={view_id}", status_code=303)


# --- The API: an agent's own views, listed, renamed and moved (/api/v1/views) -----------------------

api_router = APIRouter(prefix="/api/v1/views", tags=["views"])


class SavedViewApiOut(BaseModel):
    id: int
    name: str
    position: int
    # The filters as the inbox's query string (``/tickets?<filters>`` shows them); None when they no
    # longer validate, with ``problem`` saying why.
    filters: str | None
    problem: str | None = None


class SavedViewPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ViewName | None = None
    position: int | None = Field(default=None, ge=1, le=MAX_SAVED_VIEWS)


def _api_out(view: SavedViewOut) -> SavedViewApiOut:
    query = urlencode(view.filters.query()) if view.filters is not None else None
    return SavedViewApiOut(
        id=view.id, name=view.name, position=view.position, filters=query, problem=view.problem
    )


def _agent_id(principal: Principal) -> int:
    if principal.agent_id is None:
        raise PermissionDeniedError("Saved views are an agent's: use an API token that acts for an agent.")
    return principal.agent_id


@api_router.get("", response_model=list[SavedViewApiOut])
def api_list_views(session: SessionDep, principal: CurrentPrincipal) -> list[SavedViewApiOut]:
    """Your saved views, in the sidebar's order."""
    return [_api_out(v) for v in list_views(session, _agent_id(principal))]


@api_router.patch("/{view_id}", response_model=SavedViewApiOut)
def api_update_view(
    view_id: RecordId, body: SavedViewPatch, session: SessionDep, principal: CurrentPrincipal
) -> SavedViewApiOut:
    """Rename a view (``name``), move it (``position``: 1 is first), or both."""
    agent_id = _agent_id(principal)
    if body.name is None and body.position is None:
        raise ValidationFailedError("Send a new 'name', a new 'position', or both.")
    if body.name is not None:
        rename_view(session, agent_id, view_id, body.name)
    if body.position is not None:
        move_view(session, agent_id, view_id, body.position)
    return _api_out(_out(_own(session, agent_id, view_id)))
