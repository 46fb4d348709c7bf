"""Every page at a desk's and a phone's width: nothing scrolls sideways, axe-core finds nothing.

One demo, one browser, one signed-in visit of every page per width; a screenshot of each page
at each width is saved under test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = {"desk": (1366, 900), "phone": (390, 844)}
AXE = Axe()
# The sections of the incident page, each at its own address under /incidents/INC-1.
SECTIONS = ("", "/tickets", "/contacts", "/updates", "/timeline", "/after")


def problems_of(page, name: str, width: str) -> list[str]:
    """What is wrong with the page shown: sideways scroll, axe-core's violations."""
    screenshot(page, f"page-{name}-{width}")
    found = []
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width > inner_width:
        wide = page.evaluate(
            """() => {
                const over = e => e.getBoundingClientRect().right > window.innerWidth + 1;
                return [...document.querySelectorAll('body *')]
                  .filter(e => over(e) && ![...e.children].some(over))
                  .slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id);
            }"""
        )
        found.append(f"{name}: scrolls sideways ({scroll_width} > {inner_width}): {wide}")
    for violation in AXE.run(page).response["violations"]:
        targets = [node["target"] for node in violation["nodes"][:3]]
        found.append(f"{name}: axe {violation['id']} ({violation['help']}) at {targets}")
    return found


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None


def merge_confirmation(page, demo) -> None:
    """Choose two candidates of INC-1 and ask to merge one into the other."""
    visit(page, f"{demo.url}/incidents/INC-1/tickets")
    boxes = page.locator("#candidates-form input[name=ticket_ids]")
    if boxes.count() < 2:
        pytest.fail("INC-1 of the demo has fewer than two candidates to merge")
    target = boxes.nth(0).get_attribute("value")
    boxes.nth(1).check()
    page.locator("#target_id").fill(target)
    page.get_by_role("button", name="Merge selected into…").click()
    page.get_by_role("heading", name=re.compile("^Merge")).wait_for()


def my_pages(demo) -> dict[str, Callable]:
    """The pages outside the incident page, each reached as a user reaches it."""
    url = demo.url
    return {
        "dashboard": lambda page: visit(page, f"{url}/"),
        "incidents": lambda page: visit(page, f"{url}/incidents"),
        "declare": lambda page: visit(page, f"{url}/incidents/new"),
        "merge-confirmation": lambda page: merge_confirmation(page, demo),
        "report": lambda page: visit(page, f"{url}/incidents/INC-1/report"),
        "mailbox": lambda page: visit(page, f"{url}/demo/mailbox"),
        "mailbox-message": lambda page: visit(page, f"{url}/demo/mailbox/1"),
        "slack": lambda page: visit(page, f"{url}/demo/slack"),
        "not-found": lambda page: visit(page, f"{url}/incidents/INC-99999"),
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_and_axe_finds_nothing(browser, demo, width):
    context = browser.new_context(
        viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True))
    )
    try:
        found = []
        login = context.new_page()
        login.goto(f"{demo.url}/login")
        found += problems_of(login, "login", width)
        login.close()
        page = sign_in(context, demo)
        for name, reach in my_pages(demo).items():
            reach(page)
            found += problems_of(page, name, width)
        assert not found, "\n".join(found)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_section_of_the_incident_page_fits_and_axe_finds_nothing(browser, demo, width):
    context = browser.new_context(
        viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True))
    )
    try:
        page = sign_in(context, demo)
        found = []
        for section in SECTIONS:
            visit(page, f"{demo.url}/incidents/INC-1{section}")
            found += problems_of(page, f"incident{section.replace('/', '-')}", width)
        assert not found, "\n".join(found)
    finally:
        context.close()


def test_a_mailbox_message_shows_its_html_part_at_full_height(browser, demo):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = sign_in(context, demo)
        visit(page, f"{demo.url}/demo/mailbox/1")
        frame = page.locator("iframe.fit-content")
        fits = (
            "f => f.contentDocument && f.contentDocument.readyState === 'complete'"
            " && f.clientHeight >= f.contentDocument.documentElement.scrollHeight"
        )
        # Polled from here: the page's CSP forbids the eval that wait_for_function's polling uses.
        for _ in range(100):
            if page.evaluate(fits, frame.element_handle()):
                break
            page.wait_for_timeout(100)
        assert page.evaluate(fits, frame.element_handle())
        inner = frame.element_handle().content_frame()
        assert "INC-1" in inner.locator("body").inner_text()
    finally:
        context.close()
