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
