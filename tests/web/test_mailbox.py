"""The demo mailbox: newest first, 50 a page, a stable address per message, its raw text."""

from __future__ import annotations

import re
import smtplib
from dataclasses import replace
from email.message import EmailMessage

import pytest

from comms.web.demo import MAILBOX_PAGE_SIZE
from tests.conftest import sign_in


@pytest.fixture
def mailbox(make_app, settings, catcher, users):
    """A signed-in client of the demo's pages, reading the real mail server `catcher`."""
    app = make_app(replace(settings, web=replace(settings.web, demo=True)), worker=False)
    app.extensions["comms"]["mailcatcher"] = catcher
    client = app.test_client()
    assert sign_in(client, "viewer@agency.test").status_code == 302
    return client


def send(catcher, *numbers: int) -> None:
    with smtplib.SMTP(catcher.host, catcher.port) as smtp:
        for n in numbers:
            message = EmailMessage()
            message["From"], message["To"] = "comms@agency.test", f"c{n}@client.example"
            message["Subject"] = f"Update number {n}"
            message.set_content(f"Text of {n}.")
            message.add_alternative(f"<p>HTML of {n}.</p>", subtype="html")
            smtp.send_message(message)


def subjects(page: str) -> list[int]:
    return [int(n) for n in re.findall(r">Update number (\d+)</a>", page)]


def test_the_list_is_newest_first_fifty_a_page(mailbox, catcher):
    many = MAILBOX_PAGE_SIZE + 3
    send(catcher, *range(1, many + 1))
    first = mailbox.get("/demo/mailbox").get_data(as_text=True)
    assert subjects(first) == list(range(many, 3, -1))
    older = re.search(r'href="([^"]+)">Older e-mails', first).group(1)
    second = mailbox.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert subjects(second) == [3, 2, 1] and "Older e-mails" not in second
    assert f'Demo mailbox <span class="muted">({many})' in second


def test_a_message_keeps_its_address_when_new_mail_arrives(mailbox, catcher):
    send(catcher, 1, 2)
    assert "Update number 1" in mailbox.get("/demo/mailbox/1").get_data(as_text=True)
    link = re.search(
        r'href="(/demo/mailbox/\d+)">Update number 1<', mailbox.get("/demo/mailbox").text
    )
    send(catcher, 3, 4)
    page = mailbox.get(link.group(1)).get_data(as_text=True)
    assert '<h1 class="wrap">Update number 1</h1>' in page
    assert "Update number 1" in mailbox.get("/demo/mailbox/1").get_data(as_text=True)
    for missing in ("/demo/mailbox/0", "/demo/mailbox/5", "/demo/mailbox/5/raw"):
        assert mailbox.get(missing).status_code == 404, missing
    assert mailbox.get("/demo/mailbox?before=abc").status_code == 400


def test_the_html_part_runs_nothing_and_the_raw_message_downloads_as_text(mailbox, catcher):
    send(catcher, 1)
    page = mailbox.get("/demo/mailbox/1").get_data(as_text=True)
    assert 'src="/demo/mailbox/1/html"' in page and 'href="/demo/mailbox/1/raw"' in page
    frame = mailbox.get("/demo/mailbox/1/html")
    policy = frame.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert policy.endswith("sandbox allow-same-origin") and "HTML of 1." in frame.text
    raw = mailbox.get("/demo/mailbox/1/raw")
    assert raw.mimetype == "text/plain" and raw.headers["Content-Disposition"].startswith(
        "attachment"
    )
    assert (
        "Subject: Update number 1" in raw.text and "Content-Type: multipart/alternative" in raw.text
    )
