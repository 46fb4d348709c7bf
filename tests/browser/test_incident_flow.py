"""A comms manager declares an incident, creates its parent and links two tickets, in a browser."""

import re

import pytest

from tests.browser.conftest import finished_operation, screenshot

pytestmark = pytest.mark.browser


def test_declare_create_parent_link_two_candidates(page, demo):
    page.get_by_role("link", name="Declare an incident").first.click()
    page.get_by_label("Title").fill("Homepages timing out")
    page.get_by_label(re.compile("^major")).check()
    page.get_by_label(re.compile("^Keywords")).fill("503 down loading")
    page.get_by_role("button", name="Declare the incident").click()
    page.get_by_text("declared.").wait_for()
    reference = re.search(r"INC-\d+", page.locator("h1").inner_text()).group(0)

    page.get_by_role("navigation", name=f"Sections of {reference}").get_by_role(
        "link", name="Tickets"
    ).click()
    page.get_by_role("button", name="Create the parent ticket").click()
    page.get_by_text("is the parent ticket.").wait_for()
    page.get_by_role("button", name="Find candidate tickets in Zendesk").click()
    boxes = page.locator("#candidates-form input[name=ticket_ids]")
    boxes.first.wait_for(timeout=60_000)  # a worker polls Zendesk; the page reloads when done
    assert boxes.count() >= 2
    chosen = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Link selected").click()

    # The link runs as an operation: the page shows its progress and reloads when it is done.
    finished = finished_operation(page, "Linking")
    assert finished.get_attribute("data-state") == "done", finished.inner_text()
    linked = page.locator("#linked-tickets")
    for ticket_id in chosen:
        linked.get_by_role("link", name=ticket_id, exact=True).wait_for(timeout=60_000)
    screenshot(page, f"linked-{reference}")
