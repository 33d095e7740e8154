"""Macros: leads manage them, placeholders are checked when saved, agents apply them in the reply box."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.auth.roles import Role
from relaydesk.workspace.macros import Macro
from tests.factories import count
from tests.workspace.conftest import signed_in_agent

GREETING = "Hi {{ customer.name }}, this is {{ agent.first_name }} about ticket #{{ ticket.id }}."


def macro_id(database, name: str) -> int:
    with database.transaction(read_only=True) as session:
        return session.scalars(select(Macro.id).where(Macro.name == name)).one()


def test_a_lead_creates_edits_and_deletes_a_macro(client, database):
    lead = signed_in_agent(client, database, Role.LEAD)
    created = lead.post("/macros", {"name": "Greeting", "body": GREETING})
    assert created.status_code == 204 and created.headers["HX-Redirect"] == "/macros"
    assert "Greeting" in lead.get("/macros").text
    mid = macro_id(database, "Greeting")
    assert (
        lead.post(f"/macros/{mid}", {"name": "Hello", "body": "Hello {{ customer.name }}"}).status_code == 204
    )
    duplicate = lead.post("/macros", {"name": "Hello", "body": "x"})
    assert duplicate.status_code == 409
    assert lead.post(f"/macros/{mid}/delete").status_code == 204
    assert count(database, Macro) == 0


def test_an_agent_may_use_but_not_manage_macros(client, database):
    agent = signed_in_agent(client, database)
    refused = agent.post("/macros", {"name": "Greeting", "body": GREETING})
    assert refused.status_code == 403 and "lead" in refused.text
    assert count(database, Macro) == 0
    assert 'data-testid="new-macro"' not in agent.get("/macros").text


def test_an_unknown_placeholder_is_refused_with_its_name(client, database):
    lead = signed_in_agent(client, database, Role.LEAD)
    refused = lead.post("/macros", {"name": "Broken", "body": "Hi {{ customer.nickname }}"})
    assert refused.status_code == 422
    assert "nickname" in refused.text and "customer.name" in refused.text
    unreadable = lead.post("/macros", {"name": "Broken", "body": "Hi {{ customer.name "})
    assert unreadable.status_code == 422
    sandboxed = lead.post("/macros", {"name": "Sneaky", "body": "{{ customer.__class__.__mro__ }}"})
    assert sandboxed.status_code == 422
    assert count(database, Macro) == 0


def test_applying_a_macro_fills_the_placeholders_into_the_reply_box(client, database, ticket_id):
    lead = signed_in_agent(client, database, Role.LEAD)
    lead.post("/macros", {"name": "Greeting", "body": GREETING})
    agent = signed_in_agent(client, database)
    page = agent.get(f"/tickets/{ticket_id}").text
    assert 'data-testid="macro-select"' in page
    applied = agent.post(
        f"/tickets/{ticket_id}/macros/{macro_id(database, 'Greeting')}/apply", {"body": "Draft"}
    )
    assert applied.status_code == 200
    assert 'id="reply-body"' in applied.text
    assert "Draft\n\nHi ada@example.com, this is Agent" in applied.text
    assert f"about ticket #{ticket_id}." in applied.text
    missing = agent.post(f"/tickets/{ticket_id}/macros/999999/apply")
    assert missing.status_code == 404
