"""The "Sign out everywhere" button, in Chromium: it ends the agent's sessions on every device."""

from __future__ import annotations

import pytest

from tests.browser_fixtures import sign_in
from tests.factories import PASSWORD, make_agent

pytestmark = pytest.mark.browser


def test_sign_out_everywhere_ends_the_session_on_the_other_device_too(page, browser, live_server, database):
    agent = make_agent(database)
    colleague = make_agent(database)
    other_devices = [browser.new_context(), browser.new_context()]
    try:
        phone, colleagues_laptop = (context.new_page() for context in other_devices)
        for device, who in ((page, agent), (phone, agent), (colleagues_laptop, colleague)):
            sign_in(device, live_server, "/tickets", who.email, PASSWORD)
            device.wait_for_url(f"{live_server}/tickets")
        page.click("[data-testid=sign-out-everywhere]")
        page.wait_for_url(f"{live_server}/login")
        phone.goto(f"{live_server}/tickets")
        assert "/login" in phone.url  # the phone's cookie names a session the server ended
        colleagues_laptop.goto(f"{live_server}/tickets")
        assert colleagues_laptop.url == f"{live_server}/tickets"  # only that agent's sessions end
    finally:
        for context in other_devices:
            context.close()
