"""The updates section through the test client, as the comms manager uses it."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from comms.operations.models import ACTIVE, Operation
from tests.conftest import csrf_token
from tests.updates.conftest import contact_address, received_by


@pytest.fixture
def incident(make_incident):
    return make_incident("major", contacts=3, current_message="Sites are slow.")


def wait_for_senders(app) -> None:
    """Wait for the worker to finish every sending the page recorded."""
    deadline = time.monotonic() + 60
    while True:
        with app.extensions["comms"]["sessionmaker"]() as db_session:
            sending = db_session.scalars(
                select(Operation).where(Operation.kind == "send", Operation.state.in_(ACTIVE))
            ).all()
        if not sending:
            return
        assert time.monotonic() < deadline, "the sending did not finish"
        time.sleep(0.05)


def page_of(client, incident) -> str:
    return client.get(f"/incidents/{incident.reference}/updates").get_data(as_text=True)


def post(client, incident, path: str, follow: bool = True, **form):
    token = csrf_token(page_of(client, incident))
    url = f"/incidents/{incident.reference}/updates/{path}"
    return client.post(url, data={"csrf_token": token, **form}, follow_redirects=follow)


def test_compose_preview_confirm_and_send(app, login, incident, catcher):
    client = login("manager")
    page = page_of(client, incident)
    assert "Sites are slow." in page and "Send now to 3 recipients" in page

    token = csrf_token(page)
    preview = client.post(
        f"/incidents/{incident.reference}/updates/preview",
        json={"message": "Databases are moving.", "email": contact_address(2)},
        headers={"X-CSRFToken": token},
    )
    assert preview.status_code == 200
    body = preview.get_json()
    assert "Dear Contact 2," in body["text"] and "Dear Contact 2," in body["html"]
    assert body["headers"]["To"] == f"Contact 2 <{contact_address(2)}>"

    confirm = post(client, incident, "compose", message="Databases are moving.", action="send")
    text = confirm.get_data(as_text=True)
    assert "Send this update now to 3 recipients?" in text and "Databases are moving." in text
    assert not catcher.messages

    sent = client.post(
        f"/incidents/{incident.reference}/updates/send",
        data={
            "csrf_token": csrf_token(text),
            "message": "Databases are moving.",
            "recipients": "3",
        },
        follow_redirects=True,
    )
    assert "Update 1 is going out to 3 contacts." in sent.get_data(as_text=True)
    wait_for_senders(app)
    assert received_by(catcher) == {contact_address(n): 1 for n in (1, 2, 3)}
    progress = client.get(f"/incidents/{incident.reference}/updates/progress").get_json()
    assert progress["updates"][0]["counts"]["sent"] == 3 and not progress["in_progress"]
    assert 'data-state="sent">3<' in page_of(client, incident)


def test_a_changed_contact_list_asks_again(app, login, incident, catcher):
    client = login("manager")
    response = post(client, incident, "send", message="News", recipients="2")
    assert "Send this update now to 3 recipients?" in response.get_data(as_text=True)
    assert not catcher.messages


def test_save_for_the_next_scheduled_update_sends_nothing(app, login, incident, catcher):
    client = login("manager")
    page = post(client, incident, "compose", message="Newer text.", action="save").get_data(
        as_text=True
    )
    assert "the next scheduled update will carry this text" in page and "Newer text." in page
    assert not catcher.messages


def test_failures_are_listed_with_their_smtp_reply(app, login, incident, catcher):
    client = login("manager")
    catcher.fail_next(550, stage="rcpt")
    post(client, incident, "send", message="News", recipients="3")
    wait_for_senders(app)
    page = page_of(client, incident)
    assert 'data-state="failed">1<' in page and 'data-state="sent">2<' in page
    assert "550 Mailbox unavailable" in page


def test_a_failed_delivery_is_retried_once_however_often_asked(app, login, incident, catcher):
    client = login("manager")
    catcher.fail_next(550, stage="rcpt")
    post(client, incident, "send", message="News", recipients="3")
    wait_for_senders(app)
    page = page_of(client, incident)
    [failed] = re.findall(r'name="email" value="([^"]+)">\s*<button[^>]*>Retry</button>', page)
    assert received_by(catcher).get(failed, 0) == 0 and 'data-state="progress">done<' in page

    answer = post(client, incident, "1/retry", follow=False, email=failed)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/updates")
    wait_for_senders(app)
    page = page_of(client, incident)
    assert f"Update 1 is going out to {failed} again." in page
    assert 'data-state="failed">0<' in page and 'data-state="sent">3<' in page
    assert "Retry</button>" not in page  # nothing left to retry
    again = post(client, incident, "1/retry", email=failed).get_data(as_text=True)
    assert "is not a failed delivery" in again
    wait_for_senders(app)
    assert received_by(catcher)[failed] == 1  # the ledger sent it once


def test_only_the_latest_updates_failures_are_retried(app, login, incident, catcher):
    client = login("manager")
    catcher.fail_next(550, stage="rcpt")
    post(client, incident, "send", message="News", recipients="3")
    wait_for_senders(app)
    failed = re.findall(r'name="email" value="([^"]+)">\s*<button', page_of(client, incident))
    post(client, incident, "send", message="Newer news", recipients="3")
    wait_for_senders(app)
    assert "Retry</button>" not in page_of(client, incident)
    refused = post(client, incident, "1/retry", email=failed[0]).get_data(as_text=True)
    assert "Update 1 is not the latest: update 2 went out since" in refused
    assert "no update 9" in post(client, incident, "9/retry", email=failed[0]).get_data(
        as_text=True
    )


def test_each_update_lists_its_first_failures_and_counts_them_all(
    app, login, make_incident, catcher, monkeypatch
):
    from comms.updates import history
    from comms.updates.history import SHOWN_PROBLEMS

    many = SHOWN_PROBLEMS + 2
    incident = make_incident("major", contacts=many, current_message="Sites are slow.")
    client = login("manager")
    for message in ("News", "More news"):
        catcher.fail_next(550, count=many, stage="rcpt")
        post(client, incident, "send", message=message, recipients=str(many))
        wait_for_senders(app)
    page = page_of(client, incident)
    assert page.count(f'data-state="failed">{many}<') == 2
    # Every update on the page shows its first failures (not one update taking them all).
    assert page.count("<li><strong>failed</strong>") == 2 * SHOWN_PROBLEMS
    assert page.count("550 Mailbox unavailable") == 2 * SHOWN_PROBLEMS
    # Read a statement per update (as when more updates than one statement holds): the same.
    monkeypatch.setattr(history, "PROBLEMS_AT_ONCE", 1)
    with app.extensions["comms"]["sessionmaker"]() as db_session:
        summaries = history.history(db_session, incident)
    assert [len(s.problems) for s in summaries] == [SHOWN_PROBLEMS, SHOWN_PROBLEMS]
    assert {p.smtp_reply[:3] for s in summaries for p in s.problems} == {"550"}


def test_pause_and_resume_with_a_reason(app, login, incident):
    client = login("manager")
    post(client, incident, "send", message="News", recipients="3")
    wait_for_senders(app)
    assert "in 60 min" in page_of(client, incident) or "in 1 h" in page_of(client, incident)
    page = post(client, incident, "schedule", paused="1", reason="Vendor call at noon").get_data(
        as_text=True
    )
    assert "Paused</strong>: Vendor call at noon" in page
    page = post(client, incident, "schedule", paused="0", reason="").get_data(as_text=True)
    assert "Automatic updates resumed." in page and "Next automatic update" in page
    assert "Say why" in post(client, incident, "schedule", paused="1", reason=" ").get_data(
        as_text=True
    )


def test_resolve_asks_for_confirmation_then_resolves(app, login, incident, catcher):
    client = login("manager")
    confirm = post(client, incident, "resolve", message="All fixed.").get_data(as_text=True)
    assert "and send the resolved update to 3 recipients?" in confirm
    assert not catcher.messages
    done = client.post(
        f"/incidents/{incident.reference}/updates/resolve",
        data={"csrf_token": csrf_token(confirm), "message": "All fixed.", "confirmed": "yes"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "is resolved; the resolved update is going out." in done
    wait_for_senders(app)
    assert len(catcher.messages) == 3 and "All fixed." in catcher.messages[0].text


def test_a_viewer_sees_the_history_but_cannot_send(app, login, incident, catcher):
    client = login("viewer")
    page = page_of(client, incident)
    assert "Client updates" in page and "Send now" not in page
    url = f"/incidents/{incident.reference}/updates/send"
    assert (
        client.post(
            url, data={"csrf_token": csrf_token(page), "message": "x", "recipients": "3"}
        ).status_code
        == 403
    )
