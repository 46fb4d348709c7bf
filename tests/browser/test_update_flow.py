"""A comms manager sends an update from the incident page and finds it in the demo mailbox."""

import re
import time

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_send_an_update_and_find_it_in_the_mailbox(page, demo):
    page.get_by_role("link", name="INC-1").first.click()
    page.get_by_role("link", name="Send an update now").click()
    unique = f"Traffic is back on healthy servers (check {time.time_ns()})."
    page.locator("#update-message").fill(unique)
    page.locator("#preview-text").filter(has_text="healthy servers").wait_for(state="attached")
    page.get_by_role("button", name=re.compile(r"^Send now to \d+ recipients")).click()
    confirm = page.get_by_role("button", name=re.compile(r"^Send to \d+ recipients"))
    recipients = int(re.search(r"\d+", confirm.inner_text()).group(0))
    assert recipients > 100
    confirm.click()
    # The newest update's row counts live and says when it is done, without a reload by hand.
    newest = page.locator("#update-history tbody tr[data-update]").first
    newest.locator('[data-state="progress"]').filter(has_text="done").wait_for(timeout=90_000)
    assert int(newest.locator('[data-state="sent"]').inner_text()) > 100

    # Pause from the header: it says who paused; resume leaves the demo as it was.
    page.get_by_text("Pause updates…").click()
    page.get_by_label(re.compile("^Why")).fill("Waiting for the hosting provider")
    page.get_by_role("button", name="Pause automatic updates").click()
    page.locator("#update-state").filter(has_text="paused by").wait_for()
    page.get_by_role("button", name="Resume updates").click()
    page.get_by_text("Automatic updates resumed.").wait_for()

    for _ in range(60):
        page.goto(f"{demo.url}/demo/mailbox")
        page.locator("#mailbox tbody a").first.click()  # the newest e-mail
        if unique in page.locator("pre.mail").inner_text():
            break
        time.sleep(1)
    else:
        pytest.fail("the update never reached the demo mailbox")
    assert "INC-1" in page.locator("table").first.inner_text()
    screenshot(page, "update-in-mailbox")
