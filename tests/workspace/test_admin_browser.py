"""In real Chromium: an admin gives an agent a skill and a chat capacity on the admin page, then that
agent switches their presence from the header (htmx, no reload)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.auth.roles import Role
from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, make_agent

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_admin_edits_skills_and_capacity_then_agent_switches_presence(page, live_server, database):
    admin = make_agent(database, Role.ADMIN)
    kim = make_agent(database, Role.AGENT)

    sign_in(page, live_server, f"/admin/agents/{kim.agent_id}", admin.email, PASSWORD)
    page.wait_for_url(f"{live_server}/admin/agents/{kim.agent_id}")
    page.fill("#skill-1", "billing")
    page.select_option("#level-1", "4")
    page.fill("#capacity-web_chat", "3")
    page.fill("#capacity-email", "12")
    page.click("form.admin-form button[type=submit]")
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.locator("#skill-1")).to_have_value("billing")
    with database.transaction() as session:
        saved = agents.get_agent(session, kim.agent_id)
        assert [(s.skill, s.level) for s in saved.skills] == [("billing", 4)]
        assert saved.capacity == {"web_chat": 3, "email": 12}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-agent.png"), full_page=True)

    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    sign_in(page, live_server, "/tickets", kim.email, PASSWORD)
    page.wait_for_url(f"{live_server}/tickets")
    expect(page.locator("#presence-status")).to_have_value("offline")
    page.select_option("#presence-status", "online")
    # The selector is swapped in by htmx with the saved status; the page itself is not reloaded.
    expect(page.locator(".presence-dot.online")).to_be_visible()
    with database.transaction() as session:
        assert agents.get_agent(session, kim.agent_id).status is AgentStatus.ONLINE
    page.select_option("#presence-status", "busy")
    expect(page.locator(".presence-dot.busy")).to_be_visible()
    page.reload()
    expect(page.locator("#presence-status")).to_have_value("busy")
    page.screenshot(path=str(SCREENSHOTS / "presence-header.png"))
