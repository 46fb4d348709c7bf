"""A resolved incident is found in the incidents list and its follow-up opened, in a browser."""

import re
import time

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_resolve_then_find_it_in_the_list_and_open_its_follow_up(page, demo):
    title = f"Checkout slow {time.time_ns()}"
    page.get_by_role("link", name="Declare an incident").first.click()
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile("^minor")).check()
    page.get_by_role("button", name="Declare the incident").click()
    page.get_by_text("declared.").wait_for()
    reference = re.search(r"INC-\d+", page.locator("h1").inner_text()).group(0)

    page.goto(f"{demo.url}/incidents/{reference}/updates")
    page.locator("#resolve-message").fill("Checkout is fast again.")
    page.locator("#resolve").get_by_role("button", name="Resolve…").click()
    page.get_by_role("button", name=re.compile("^Resolve and send")).click()
    page.get_by_text(re.compile("resolved", re.IGNORECASE)).first.wait_for()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="All incidents").click()
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Reference or title").fill(title)
    page.get_by_role("button", name="Show").click()
    row = page.locator("#incidents tbody tr")
    row.get_by_role("link", name=reference).wait_for()
    assert row.count() == 1 and "resolved" in row.inner_text()
    screenshot(page, "resolved-in-the-list")
    row.get_by_role("link", name=re.compile("^Review")).click()
    assert page.url.endswith(f"/incidents/{reference}/after")
    page.get_by_role("heading", name="After the incident").first.wait_for()
    page.go_back()
    page.locator("#incidents").get_by_role("link", name="Report").click()
    assert page.url.endswith(f"/incidents/{reference}/report")
