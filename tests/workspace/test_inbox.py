"""The inbox at /tickets: built-in views, filters, order and pages, counts, and restricted teams."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from relaydesk.auth.roles import Principal, Role
from relaydesk.db import Database
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, Priority, QueueKind, TicketSort, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from tests.factories import Login, make_agent, make_team, make_ticket, sign_in_agent

SYSTEM = Actor(AuthorKind.SYSTEM)


def shape_ticket(
    database: Database, ticket_id: int, *, status: TicketStatus | None = None, **changes
) -> None:
    """Set fields of a ticket through the tickets service (as triage, routing or an agent would)."""
    with database.transaction() as session:
        ticket = tickets.get_ticket(session, ticket_id)
        assert ticket is not None
        if changes:
            tickets.update_ticket(session, ticket, TicketUpdate(**changes), SYSTEM)
        if status is not None:
            tickets.change_status(session, ticket, StatusChange(status=status), SYSTEM)


def shown_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-ticket-id="(\d+)"', html)}


def counts_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="count-([^"]+)">([^<]*)<', html))


@dataclass(frozen=True)
class Desk:
    me: Login
    billing: int
    legal: int
    mine: int  # assigned to me, billing team, high, chat, English, flagged vip
    team_unassigned: int  # billing team, nobody assigned, messaging queue, French
    triage: int  # in the triage queue
    others: int  # assigned to someone else, no team
    resolved: int  # mine, but resolved
    restricted: int  # legal (restricted), unassigned


@pytest.fixture
def desk(database) -> Desk:
    billing = make_team(database, "Billing")
    legal = make_team(database, "Legal", restricted=True)
    me = make_agent(database, team_ids=[billing])
    other = make_agent(database)
    mine = make_ticket(database, team_id=billing, email="a@example.com", channel=Channel.WEB_CHAT)
    shape_ticket(
        database, mine, assignee_id=me.agent_id, priority=Priority.HIGH, language="en", flags=["vip"]
    )
    team_unassigned = make_ticket(database, team_id=billing, email="b@example.com")
    shape_ticket(database, team_unassigned, queue=QueueKind.MESSAGING, language="fr", flags=["refund"])
    triage = make_ticket(database, email="c@example.com")
    shape_ticket(database, triage, queue=QueueKind.TRIAGE, flags=["needs_triage"])
    others = make_ticket(database, email="d@example.com", channel=Channel.SMS)
    shape_ticket(database, others, assignee_id=other.agent_id, priority=Priority.URGENT)
    resolved = make_ticket(database, email="e@example.com")
    shape_ticket(database, resolved, assignee_id=me.agent_id, status=TicketStatus.RESOLVED)
    restricted = make_ticket(database, team_id=legal, email="f@example.com")
    return Desk(me, billing, legal, mine, team_unassigned, triage, others, resolved, restricted)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine"}),
        ("team", {"mine", "team_unassigned"}),
        ("unassigned", {"team_unassigned", "triage"}),
        ("triage", {"triage"}),
        ("all", {"mine", "team_unassigned", "triage", "others", "resolved"}),
    ],
)
def test_each_built_in_view_shows_its_tickets_and_never_a_restricted_one(
    client, database, desk, view, expected
):
    sign_in_agent(client, desk.me)
    page = client.get(f"/tickets?view={view}")
    assert page.status_code == 200
    assert shown_ids(page.text) == {getattr(desk, name) for name in expected}
    assert shown_ids(client.get(f"/tickets/rows?view={view}").text) == shown_ids(page.text)
    for row in re.findall(r"<tr data-testid=\"ticket-row\"[^>]*>", page.text):
        assert 'data-row-link="/tickets/' in row  # keyboard shortcuts open rows on any list


def test_a_member_of_the_restricted_team_sees_its_tickets_in_the_views(client, database, desk):
    member = make_agent(database, team_ids=[desk.legal])
    sign_in_agent(client, member)
    assert desk.restricted in shown_ids(client.get("/tickets?view=unassigned").text)
    assert desk.restricted in shown_ids(client.get("/tickets?view=team").text)
    sign_in_agent(client, make_agent(database, Role.MANAGER))
    assert desk.restricted in shown_ids(client.get("/tickets?view=all").text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=web_chat", {"mine"}),
        ("channel=sms&channel=web_chat", {"mine", "others"}),
        ("priority=urgent", {"others"}),
        ("queue=messaging", {"team_unassigned"}),
        ("language=fr", {"team_unassigned"}),
        ("flag=vip", {"mine"}),
        ("tag=refund", {"team_unassigned"}),
        ("flag=vip&tag=refund", set()),  # every flag named must be on the ticket
        ("status=resolved", {"resolved"}),
        ("team_id={billing}", {"mine", "team_unassigned"}),
        ("priority=", {"mine", "team_unassigned", "triage", "others", "resolved"}),  # "Any"
    ],
)
def test_filters_narrow_the_view(client, database, desk, query, expected):
    sign_in_agent(client, desk.me)
    response = client.get("/tickets/rows?view=all&" + query.format(billing=desk.billing))
    assert response.status_code == 200
    assert shown_ids(response.text) == {getattr(desk, name) for name in expected}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("priority=critical", "priority"),
        ("view=everything", "view"),
        ("language=English%20please", "language"),
        ("team_id=abc", "team_id"),
        ("saved=12345", "no saved view"),
    ],
)
def test_a_filter_the_inbox_cannot_use_is_a_4xx_that_names_it(client, database, desk, query, fragment):
    sign_in_agent(client, desk.me)
    page = client.get("/tickets?" + query)
    assert page.status_code in {400, 422}
    assert fragment in page.text and 'data-testid="inbox-error"' in page.text
    rows = client.get("/tickets/rows?" + query)
    assert rows.status_code == page.status_code and fragment in rows.text


def test_the_counts_fragment_counts_each_view_for_this_agent(client, database, desk):
    sign_in_agent(client, desk.me)
    counts = counts_of(client.get("/tickets/counts?current=mine").text)
    assert counts == {"mine": "1", "team": "2", "unassigned": "2", "triage": "1", "all": "5"}
    shape_ticket(database, desk.team_unassigned, assignee_id=desk.me.agent_id)
    counts = counts_of(client.get("/tickets/counts").text)
    assert counts["mine"] == "2" and counts["unassigned"] == "1"
    client.cookies.clear()
    assert client.get("/tickets/counts").status_code == 401


def test_sorted_by_priority_the_pages_run_most_urgent_first_then_oldest(database):
    team = make_team(database, "Support")
    manager = make_agent(database, Role.MANAGER, team_ids=[team])
    priorities = [
        Priority.LOW,
        Priority.URGENT,
        Priority.NORMAL,
        Priority.URGENT,
        Priority.HIGH,
        Priority.NORMAL,
    ]
    ids = []
    for n, priority in enumerate(priorities):
        ticket_id = make_ticket(database, email=f"p{n}@example.com")
        shape_ticket(database, ticket_id, priority=priority)
        ids.append(ticket_id)
    expected = sorted(ids, key=lambda i: (-priorities[ids.index(i)].rank, i))
    with database.transaction(read_only=True) as session:
        principal = Principal(role=Role.MANAGER, agent_id=manager.agent_id)
        seen, cursor = [], None
        while True:
            page, cursor = tickets.list_tickets(
                session, principal, tickets.TicketFilters(), cursor=cursor, limit=2, sort=TicketSort.PRIORITY
            )
            seen.extend(t.id for t in page)
            if cursor is None:
                break
        assert seen == expected
        oldest, _ = tickets.list_tickets(
            session, principal, tickets.TicketFilters(), cursor=None, limit=3, sort=TicketSort.OLDEST
        )
        assert [t.id for t in oldest] == ids[:3]


def test_the_inbox_pages_with_load_more_and_the_api_takes_the_same_order(client, database, desk):
    sign_in_agent(client, desk.me)
    first = client.get("/tickets/rows?view=all&sort=priority")
    assert "Load more" not in first.text  # five tickets: one page
    api = client.get("/api/v1/tickets?sort=priority&limit=2", headers=desk.me.headers).json()
    assert [t["id"] for t in api["items"]] == [desk.others, desk.mine]  # urgent, then high
    rest = client.get(
        f"/api/v1/tickets?sort=priority&limit=10&cursor={api['next_cursor']}", headers=desk.me.headers
    )
    assert desk.others not in {t["id"] for t in rest.json()["items"]}
    flagged = client.get("/api/v1/tickets?flag=vip", headers=desk.me.headers).json()["items"]
    assert [t["id"] for t in flagged] == [desk.mine]
    forged = client.get("/api/v1/tickets?sort=priority&cursor=eyJpZCI6MX0", headers=desk.me.headers)
    assert forged.status_code == 400 and "cursor" in forged.json()["error"]["message"]
