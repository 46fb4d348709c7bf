"""Playwright driving Debian's chromium (never a downloaded browser) against `comms demo`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.conftest import demo  # noqa: F401  (the running demo is the server under test)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def sign_in(context, demo):  # noqa: F811  (the demo fixture, as a value)
    """A new page of `context`, signed in to the demo and showing the dashboard."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{demo.url}/login")
    page.get_by_label("E-mail").fill(demo.email)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Open incidents").wait_for()
    return page


@pytest.fixture
def page(browser, demo) -> Iterator:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield sign_in(context, demo)
    context.close()


def finished_operation(page, doing: str, timeout: float = 120_000):
    """The operation box once the operation it follows (`doing`: "Linking", "Merging"...) has
    ended and the page has reloaded to show it. The page's own script reloads when it ends, so a
    test that reloads too races it ("frame was detached"); this waits for the reloaded page."""
    box = page.locator(
        "#operation:not([data-state=queued]):not([data-state=running])", has_text=doing
    )
    box.wait_for(timeout=timeout)
    return box


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
