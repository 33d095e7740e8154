"""Fixtures for browser tests: the real app on a real port, and real Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from relaydesk.app import create_app
from relaydesk.jobs.models import Job, JobState
from tests.factories import free_port, stop_process

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(database) -> Iterator[str]:
    """The real app on a real port, in this process, against the test database.

    The search query encoder is loaded first (once per test process), as ``relaydesk serve`` does before
    ``/readyz`` lets customers in: a cold load would otherwise eat the first suggestion's time budget."""
    from relaydesk.knowledge.index import embed_query

    embed_query("warm up")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(run_worker=True), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass(frozen=True)
class ServedProcess:
    url: str
    pid: int


@pytest.fixture
def served(database) -> Iterator[ServedProcess]:
    """``relaydesk serve`` in its own process (its memory can be measured; the CLI's server options
    apply), against the test database, without worker, migrations or search warming."""
    port = free_port()
    command = ["serve", "--port", str(port), "--no-worker", "--no-migrate", "--no-warm"]
    process = subprocess.Popen([sys.executable, "-m", "relaydesk.cli", *command], env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"relaydesk serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("relaydesk serve did not start")
        time.sleep(0.1)
    yield ServedProcess(url, process.pid)
    stop_process(process)


def sign_in(page, live_server: str, path: str, email: str, password: str) -> None:
    """Open an agent page signed out, and submit the sign-in form it sends the visitor to."""
    page.goto(f"{live_server}{path}")
    assert "/login" in page.url  # signed-out visitors are sent to the sign-in form
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed; scripts/test installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the browser refused anything under the Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    violations: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    yield page
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def demo_site(database, monkeypatch):
    """The demo shop's chat site (its widget embeds on /chat/demo), with the demo enabled and the site
    cache cleared."""
    from relaydesk.channels.chat import service
    from relaydesk.channels.chat.pages import ensure_demo_site
    from relaydesk.settings import reset_settings_cache

    monkeypatch.setenv("RELAYDESK_DEMO_ENABLED", "true")
    reset_settings_cache()
    service.forget_cached_sites()
    with database.transaction() as session:
        ensure_demo_site(session)
    yield
    service.forget_cached_sites()
    monkeypatch.delenv("RELAYDESK_DEMO_ENABLED")
    reset_settings_cache()


def wait_for_jobs(database, names: set[str], timeout: float = 60) -> None:
    """Until the live server's worker has run every job of these names."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.transaction(read_only=True) as session:
            busy = session.scalars(
                select(Job.id).where(Job.name.in_(names), Job.state != JobState.DONE)
            ).first()
        if busy is None:
            return
        time.sleep(0.1)
    raise AssertionError(f"jobs {sorted(names)} still not done after {timeout} s")
