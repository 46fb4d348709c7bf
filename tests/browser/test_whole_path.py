"""The whole night in one browser session: from declaring the incident to its follow-up (review
and report of the resolved incident found in the list)."""

import re
import time

import pytest
import requests

from tests.browser.conftest import finished_operation, screenshot

pytestmark = pytest.mark.browser


def section(page, reference: str, name: str) -> None:
    page.get_by_role("navigation", name=f"Sections of {reference}").get_by_role(
        "link", name=name
    ).click()


def test_the_whole_path_from_declaring_to_the_follow_up(page, demo):
    title = f"Legacy platform down {time.time_ns()}"
    page.get_by_role("link", name="Declare an incident").first.click()
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile("^major")).check()
    page.get_by_label(re.compile("^Keywords")).fill("503 down loading unavailable")
    page.get_by_role("button", name="Declare the incident").click()
    page.get_by_text("declared.").wait_for()
    reference = re.search(r"INC-\d+", page.locator("h1").inner_text()).group(0)

    # The affected clients, as the seed's process says: every organisation on the platform.
    section(page, reference, "Contacts")
    page.get_by_label(re.compile("^Add every organisation with a tag")).fill("hosting_legacy")
    page.get_by_role("button", name="Add by tag").click()
    page.get_by_text(re.compile(r"^Added \d+ affected organisation")).wait_for()
    people = page.locator("#contact-table tbody tr")
    people.first.wait_for(timeout=60_000)  # a worker reads their people; the page reloads
    writers: dict[str, str] = {}  # one person of each of two organisations
    for i in range(people.count()):
        cells = people.nth(i).locator("td")
        email, orgs = cells.nth(1).inner_text().strip(), cells.nth(2).inner_text().strip()
        if "," not in orgs and orgs not in writers and len(writers) < 2:
            writers[orgs] = email
    assert len(writers) == 2

    # The parent ticket, then the candidates: grouped duplicates, linked and merged.
    section(page, reference, "Tickets")
    page.get_by_role("button", name="Create the parent ticket").click()
    page.get_by_text("is the parent ticket.").wait_for()
    page.get_by_role("button", name="Find candidate tickets in Zendesk").click()
    groups = page.locator("#duplicates .duplicate-group")
    page.locator("#candidate-table tbody tr").first.wait_for(timeout=60_000)  # a worker polls
    # Two clients each write twice, as they do when their site stays down.
    for email in writers.values():
        for subject in ("All our sites are down", "All our sites are down!!"):
            ticket = {"subject": subject, "requester": {"email": email}}
            filed = requests.post(f"{demo.zendesk}/_sandbox/tickets", json=ticket, timeout=10)
            assert filed.status_code == 201, filed.text
    requests.post(f"{demo.zendesk}/_sandbox/index", json={}, timeout=10)  # no search lag here
    for _ in range(5):  # a poll already running when they wrote (the scheduler's) is joined
        with page.expect_navigation():
            page.get_by_role("button", name="Find candidate tickets in Zendesk").click()
        finished_operation(page, "Finding candidate tickets")
        if groups.count() >= 2:
            break
    screenshot(page, f"path-candidates-{reference}")
    assert groups.count() >= 2, page.locator("main").inner_text()
    linked_group = groups.nth(0)
    linked_ids = re.findall(r"^(\d+) ", linked_group.locator("ul").inner_text(), re.MULTILINE)
    linked_group.get_by_role("button", name=re.compile("^Link all")).click()
    linking = finished_operation(page, "Linking")
    assert linking.get_attribute("data-state") == "done", linking.inner_text()
    linked = page.locator("#linked-tickets")
    for ticket_id in linked_ids:
        linked.get_by_role("link", name=ticket_id).wait_for(timeout=60_000)

    merged_group = page.locator("#duplicates .duplicate-group").first
    merged_group.get_by_role("button", name=re.compile("^Merge into the oldest")).click()
    target = page.locator("#merge-target tbody tr")
    sources = page.locator("#merge-sources tbody tr")
    assert target.count() == 1 and sources.count() >= 1
    target_id = target.locator("td").first.inner_text().strip()
    source_ids = [
        sources.nth(i).locator("td").first.inner_text().strip() for i in range(sources.count())
    ]
    assert "keep it open" in target.inner_text()
    assert "close it" in sources.first.inner_text()
    screenshot(page, f"path-merge-confirm-{reference}")
    page.get_by_role("button", name=re.compile("^Merge, I understand")).click()
    merging = finished_operation(page, "Merging")  # a worker asks Zendesk to merge
    assert merging.get_attribute("data-state") == "done", merging.inner_text()
    ledger = f"Into {target_id}: {', '.join(source_ids)} — done"
    assert ledger in page.locator("main").inner_text()

    # The contacts: the list is built from the organisations.
    section(page, reference, "Contacts")
    assert "contact" in page.locator("main").inner_text().lower()

    # The first update: preview, send, and the live counts reach "done".
    section(page, reference, "Updates")
    unique = f"Our engineers are moving sites to healthy servers ({time.time_ns()})."
    page.locator("#update-message").fill(unique)
    page.locator("#preview-text").filter(has_text="healthy servers").wait_for(state="attached")
    page.get_by_role("button", name=re.compile(r"^Send now to \d+ recipients")).click()
    page.get_by_role("button", name=re.compile(r"^Send to \d+ recipients")).click()
    newest = page.locator("#update-history tbody tr[data-update]").first
    newest.locator('[data-state="progress"]').filter(has_text="done").wait_for(timeout=90_000)

    # Pause, and the dashboard says so.
    page.get_by_text("Pause updates…").click()
    page.get_by_label(re.compile("^Why")).fill("Waiting for the hosting provider")
    page.get_by_role("button", name="Pause automatic updates").click()
    page.locator("#update-state").filter(has_text="paused by").wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Open incidents").click()
    row = page.locator("tr").filter(has_text=reference)
    assert "paused by" in row.locator(".update-state").inner_text()
    screenshot(page, f"path-dashboard-paused-{reference}")

    # Resolve; the resolved incident is found in the list and its follow-up opened.
    page.goto(f"{demo.url}/incidents/{reference}/updates")
    page.locator("#resolve-message").fill("Every site is back on healthy servers.")
    page.locator("#resolve").get_by_role("button", name="Resolve…").click()
    page.get_by_role("button", name=re.compile("^Resolve and send")).click()
    page.get_by_text(re.compile("resolved", re.IGNORECASE)).first.wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="All incidents").click()
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Reference or title").fill(title)
    page.get_by_role("button", name="Show").click()
    found = page.locator("#incidents tbody tr")
    found.get_by_role("link", name=reference).wait_for()
    assert found.count() == 1 and "resolved" in found.inner_text()
    screenshot(page, "resolved-in-the-list")
    found.get_by_role("link", name=re.compile("^Review")).click()
    assert page.url.endswith(f"/incidents/{reference}/after")
    page.get_by_role("heading", name="After the incident").first.wait_for()
    page.go_back()
    page.locator("#incidents").get_by_role("link", name="Report").click()
    assert page.url.endswith(f"/incidents/{reference}/report")
