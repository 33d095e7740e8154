"""The ladder on the agent's ticket page, over HTTP as htmx posts it: escalate with a reason and a note,
acknowledge, de-escalate, and the history (with its notes) shown in the panel and the timeline."""

from __future__ import annotations

import re

from tests.factories import sign_in_agent
from tests.routing.conftest import (
    accept_as,
    offer_of,
    queued_ticket,
    reload_ticket,
    routing_agent,
    routing_team,
)


def _post_htmx(client, csrf: str, path: str, data: dict[str, object]):
    return client.post(path, data=data, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})


def _shown_version(html: str) -> int:
    found = re.search(r'data-version="(\d+)"', html)
    assert found, html
    return int(found.group(1))


def test_escalate_acknowledge_and_de_escalate_from_the_ticket_page(client, database, paths, clock):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = queued_ticket(database, team_id=support)
    accept_as(database, *offer_of(database, ticket_id))
    second = routing_agent(database, "Second", tier=2, team_ids=(support,))

    csrf = sign_in_agent(client, front)
    page = client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    assert 'data-testid="escalation-panel"' in page.text and "Needs specialist knowledge" in page.text
    escalated = _post_htmx(
        client,
        csrf,
        f"/tickets/{ticket_id}/escalate",
        {
            "version": _shown_version(page.text),
            "reason": "needs_expertise",
            "note": "Customer already tried the reset link",
        },
    )
    assert escalated.status_code == 200, escalated.text
    assert "Awaiting pickup at tier2" in escalated.text
    assert "Customer already tried the reset link" in escalated.text
    # A stale form (the version the agent saw before) is a 409, not a second escalation.
    stale = _post_htmx(
        client,
        csrf,
        f"/tickets/{ticket_id}/escalate",
        {"version": _shown_version(page.text), "reason": "complaint"},
    )
    assert stale.status_code == 409

    accept_as(database, *offer_of(database, ticket_id))
    csrf = sign_in_agent(client, second)
    page = client.get(f"/tickets/{ticket_id}")
    acked = _post_htmx(
        client, csrf, f"/tickets/{ticket_id}/escalation/acknowledge", {"version": _shown_version(page.text)}
    )
    assert acked.status_code == 200, acked.text
    assert "picked up by Second" in acked.text and "Awaiting pickup" not in acked.text
    twice = _post_htmx(
        client, csrf, f"/tickets/{ticket_id}/escalation/acknowledge", {"version": _shown_version(acked.text)}
    )
    assert twice.status_code == 409

    down = _post_htmx(
        client,
        csrf,
        f"/tickets/{ticket_id}/de-escalate",
        {"version": _shown_version(acked.text), "note": "Unlocked the account; confirm with the customer"},
    )
    assert down.status_code == 200, down.text
    assert "De-escalated tier2 → frontline" in down.text  # the timeline, with the note
    assert "Unlocked the account; confirm with the customer" in down.text
    assert reload_ticket(database, ticket_id).assignee_id == front.agent_id


def test_a_form_that_names_no_reason_or_a_made_up_level_is_refused_with_what_to_fix(
    client, database, paths, clock
):
    support = routing_team(database, "Support")
    front = routing_agent(database, "Front", tier=1, team_ids=(support,))
    ticket_id = queued_ticket(database, team_id=support)
    csrf = sign_in_agent(client, front)
    version = _shown_version(client.get(f"/tickets/{ticket_id}").text)

    made_up = _post_htmx(
        client, csrf, f"/tickets/{ticket_id}/escalate", {"version": version, "reason": "x", "to_level": "ceo"}
    )
    assert made_up.status_code == 422 and "is not a level" in made_up.text
    sideways_nowhere = _post_htmx(
        client,
        csrf,
        f"/tickets/{ticket_id}/escalate",
        {"version": version, "reason": "x", "to_level": "same"},
    )
    assert sideways_nowhere.status_code == 422 and "Choose the team" in sideways_nowhere.text
    at_bottom = _post_htmx(
        client, csrf, f"/tickets/{ticket_id}/de-escalate", {"version": version, "note": "n"}
    )
    assert at_bottom.status_code == 409
