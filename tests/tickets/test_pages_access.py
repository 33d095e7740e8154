"""The agents' HTML ticket pages keep a restricted team's tickets from agents outside that team."""

from __future__ import annotations

import pytest

from tests.factories import make_agent, make_team, make_ticket, sign_in_agent


@pytest.fixture
def legal_ticket(database) -> tuple[int, int, int]:
    """(the restricted team, its ticket, an open ticket)."""
    legal = make_team(database, "Legal", restricted=True)
    restricted = make_ticket(database, team_id=legal, email="claimant@example.com", body="Notice of claim")
    open_ticket = make_ticket(database, email="shopper@example.com", body="Where is my parcel")
    return legal, restricted, open_ticket


@pytest.mark.parametrize("path", ["/tickets", "/tickets/rows"])
def test_the_ticket_list_leaves_out_restricted_tickets_for_outsiders(client, database, legal_ticket, path):
    legal, restricted, open_ticket = legal_ticket
    sign_in_agent(client, make_agent(database))
    outsiders = client.get(path)
    assert outsiders.status_code == 200
    assert f'href="/tickets/{open_ticket}"' in outsiders.text
    assert f'href="/tickets/{restricted}"' not in outsiders.text
    sign_in_agent(client, make_agent(database, team_ids=[legal]))
    assert f'href="/tickets/{restricted}"' in client.get(path).text


def test_the_ticket_page_answers_404_to_outsiders_as_for_a_missing_ticket(client, database, legal_ticket):
    legal, restricted, open_ticket = legal_ticket
    sign_in_agent(client, make_agent(database))
    hidden = client.get(f"/tickets/{restricted}")
    assert hidden.status_code == 404 and "Notice of claim" not in hidden.text
    assert hidden.text == client.get("/tickets/999999").text
    assert client.get(f"/tickets/{open_ticket}").status_code == 200
    sign_in_agent(client, make_agent(database, team_ids=[legal]))
    shown = client.get(f"/tickets/{restricted}")
    assert shown.status_code == 200 and "Notice of claim" in shown.text
