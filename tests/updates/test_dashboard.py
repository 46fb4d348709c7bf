"""The dashboard says where each open incident's client updates stand, the troubled first."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.updates.test_web import post, wait_for_senders


def rows(page: str) -> list[tuple[str, str]]:
    """(reference, the words of its client updates) for each row, in the dashboard's order."""
    found = re.findall(
        r'<a href="/incidents/(INC-\d+)">.*?<span class="update-state[^"]*">([^<]*)</span>',
        page,
        re.DOTALL,
    )
    return [(ref, words) for ref, words in found]


def test_paused_overnight_and_failing_incidents_are_said_in_words_troubled_first(
    app, login, make_incident, catcher, clock, db_session
):
    client = login("manager")
    failing = make_incident("minor", contacts=2, title="Mail delayed", current_message="Slow.")
    catcher.fail_next(550, stage="rcpt")
    post(client, failing, "send", message="Mail is slow.", recipients="2")
    wait_for_senders(app)
    paused = make_incident("major", contacts=1, title="Search broken", current_message="Down.")
    post(client, paused, "send", message="Search is down.", recipients="1")
    wait_for_senders(app)
    post(client, paused, "schedule", paused="1", reason="Vendor call")
    overnight = make_incident(
        "minor",
        contacts=1,
        title="Forms slow",
        next_update_due_at=datetime(2026, 3, 4, 10, 0, tzinfo=UTC),  # Wednesday 10:00 London
    )
    clock.advance(hours=2)  # the paused incident's update was due an hour ago: it is not late
    page = client.get("/").get_data(as_text=True)

    assert rows(page) == [
        (failing.reference, "next update 12:00 (1 h 00 min overdue)"),
        (paused.reference, "paused by Manager Person at 11:00"),
        (overnight.reference, "overnight: next update 10:00 Wednesday"),
    ]
    assert "in 0 min" not in page
    assert f'href="/incidents/{failing.reference}/updates">1 delivery failed</a>' in page
    assert page.count("delivery failed") == 1


def test_a_failing_incident_comes_before_a_more_severe_calm_one(
    app, login, make_incident, catcher, clock
):
    client = login("manager")
    calm = make_incident("critical", contacts=1, title="Sites down", current_message="Down.")
    post(client, calm, "send", message="Sites are down.", recipients="1")
    wait_for_senders(app)  # before the mail server refuses the next recipient
    failing = make_incident("trivial", contacts=1, title="Typo", current_message="Typo.")
    catcher.fail_next(550, stage="rcpt")
    post(client, failing, "send", message="A typo.", recipients="1")
    wait_for_senders(app)
    clock.advance(minutes=10)
    page = client.get("/").get_data(as_text=True)
    assert [ref for ref, _ in rows(page)] == [failing.reference, calm.reference]
    assert dict(rows(page))[calm.reference] == "next update 12:00 (in 50 min)"
