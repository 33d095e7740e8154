"""The agent web app in real Chromium: sign in, see the ticket list, filter it, open a ticket."""

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from relaydesk.demo.seed import DEMO_PASSWORD, seed_demo
from relaydesk.jobs.models import Job, JobState
from relaydesk.kit.time import utcnow
from tests.browser_fixtures import sign_in
from tests.factories import count, run_jobs

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
KIM = "kim@northwind.example"


@pytest.fixture
def demo(database):
    with database.transaction() as session:
        summary = seed_demo(session)
    # Triage sets the priorities, as the worker does after `relaydesk demo`. The live server's own
    # worker may hold some of the jobs: wait until every one has run, whoever ran it.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run_jobs(database)
        # Periodic jobs (the SLA tick, routing's sweep) always have their next run queued: only what is
        # due now counts, or this waited out its whole deadline in every test.
        due = Job.state.in_([JobState.QUEUED, JobState.RUNNING]) & (Job.run_at <= utcnow())
        if not count(database, Job, due):
            break
        time.sleep(0.1)
    return summary


def test_agent_signs_in_and_sees_the_ticket_list(page, live_server, demo):
    sign_in(page, live_server, "/tickets", KIM, DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/tickets")
    assert page.get_by_test_id("signed-in-as").inner_text().startswith("Kim Nguyen")
    rows = page.get_by_test_id("ticket-row")
    subjects = page.locator("[data-testid=ticket-row] td:nth-child(2)").all_inner_texts()
    assert rows.count() == 7  # the Legal & Compliance ticket is restricted to its team
    assert not any("legal action" in s for s in subjects)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ticket-list.png"), full_page=True)

    page.select_option("#f-priority", "urgent")
    # A locator wait, not wait_for_function("..."): a string is evaluated, which the page's CSP refuses.
    # Urgent by triage: VIP customers (at least high, +1) and, for the charge, the payments service.
    expect(page.get_by_test_id("ticket-row")).to_have_count(2)
    expect(page.get_by_test_id("ticket-row").filter(has_text="Charged twice")).to_have_count(1)

    page.click("text=Charged twice for my jacket")
    page.wait_for_url(f"{live_server}/tickets/*")
    assert "I was charged twice" in page.content()


def test_manager_sees_the_restricted_legal_ticket(page, live_server, demo):
    sign_in(page, live_server, "/tickets", "priya@northwind.example", DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/tickets")
    assert "I will take legal action" in page.content()


def test_wrong_password_keeps_the_agent_on_the_form_with_a_message(page, live_server, demo):
    sign_in(page, live_server, "/tickets", KIM, "not-the-password")
    assert page.get_by_role("alert").inner_text() == "That email and password do not match an active agent."
    assert page.input_value("#email") == KIM


def test_sign_out_ends_the_session(page, live_server, demo):
    sign_in(page, live_server, "/tickets", KIM, DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/tickets")
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/tickets")
    assert "/login" in page.url
