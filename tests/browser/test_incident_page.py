"""The incident page in a browser: the Overview of the demo's INC-1 fits one screen; sections
are pages of their own, reached by link and left by the back button."""

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_the_overview_fits_one_screen_and_sections_follow_the_back_button(page, demo):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{demo.url}/incidents/INC-1")
    page.locator("#todo-h").wait_for()
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, "incident-overview-1366")
    assert height <= 900, f"the Overview of INC-1 is {height} px tall at 1366 px wide"
    assert re.search(
        r"Client updates: (next update|overnight|paused|no )", page.inner_text("#update-state")
    )

    sections = page.get_by_role("navigation", name="Sections of INC-1")
    for label, path in (
        ("Tickets", "/tickets"),
        ("Contacts", "/contacts"),
        ("Timeline", "/timeline"),
    ):
        sections.get_by_role("link", name=label).click()
        page.wait_for_url(f"**/incidents/INC-1{path}")
        assert page.locator('nav.sections a[aria-current="page"]').inner_text() == label
        # The header stays in view while the section scrolls under it.
        page.mouse.wheel(0, 2000)
        assert page.locator("#incident-head").bounding_box()["y"] <= 1
    page.go_back()
    page.wait_for_url("**/incidents/INC-1/contacts")
    page.go_back()
    page.wait_for_url("**/incidents/INC-1/tickets")
    assert page.locator('nav.sections a[aria-current="page"]').inner_text() == "Tickets"


def test_on_a_phone_the_header_keeps_its_last_lines_in_view_and_gives_the_rest_back(page, demo):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{demo.url}/incidents/INC-1/tickets")
    page.locator("#candidates-form").wait_for()
    full = page.locator("#incident-head").bounding_box()["height"]
    page.mouse.wheel(0, 3000)
    # Polled from here: the page's CSP forbids the eval that wait_for_function's polling uses.
    for _ in range(100):
        if page.evaluate("window.scrollY") > 1000:
            break
        page.wait_for_timeout(100)
    state = page.locator("#update-state").bounding_box()
    tabs = page.locator("nav.sections").bounding_box()
    screenshot(page, "incident-tickets-390-scrolled")
    # The updates' state and the sections stay at the top, in a strip far shorter than the
    # whole header, and the page still does not scroll sideways.
    assert 0 <= state["y"] <= 12 and tabs["y"] > state["y"]
    assert tabs["y"] + tabs["height"] <= 844 / 4 < full
    assert "INC-1" in page.inner_text("#update-state")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("nav.sections").get_by_role("link", name="Timeline").click()
    page.wait_for_url("**/incidents/INC-1/timeline")
