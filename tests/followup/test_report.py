"""The draft report and the timeline exports: from them one can reconstruct what was done."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from icalendar import Calendar

from comms import timeline
from comms.config import WebSettings
from comms.contacts.models import AffectedOrganization, OrganizationPerson
from comms.contacts.stored import rebuild
from comms.followup import exports, report
from comms.followup import service as followup
from comms.incidents import service
from comms.incidents.models import LinkedTicket, MergeRequest
from comms.updates.models import Delivery, Update
from tests.followup.test_dates import london


@pytest.fixture
def worked(db_session, declare, resolve, settings, clock):
    """An incident with a severity change, clients, tickets, a merge and two updates sent."""
    incident = declare(title="Sites *down* | again <b>")
    at = clock.now()
    service.change_severity(
        db_session,
        incident,
        severity="critical",
        note="all clients",
        by="manager@agency.test",
        now=at + timedelta(minutes=5),
        settings=settings,
    )
    for org_id, name, people in ((11, "Acme Museum", 2), (12, "Bravo | Council", 1)):
        db_session.add(
            AffectedOrganization(
                incident_id=incident.id,
                organization_id=org_id,
                name=name,
                tags=[],
                added_how="by name",
                added_at=at,
            )
        )
        for n in range(people):
            db_session.add(
                OrganizationPerson(
                    incident_id=incident.id,
                    organization_id=org_id,
                    user_id=org_id * 100 + n,
                    name=f"Person {org_id}-{n}",
                    email=f"p{n}@org{org_id}.example",
                    tags=[],
                )
            )
    db_session.add_all(
        [
            LinkedTicket(
                incident_id=incident.id,
                ticket_id=1001,
                subject="Our site | is down",
                state="linked",
                linked_at=at,
                linked_by="manager@agency.test",
            ),
            LinkedTicket(
                incident_id=incident.id,
                ticket_id=1002,
                subject="Down again",
                state="merged",
                linked_at=at,
                linked_by="manager@agency.test",
            ),
            MergeRequest(
                incident_id=incident.id,
                target_id=1001,
                source_key="1002",
                source_ids=[1002],
                state="done",
                outcomes=[],
                requested_at=at,
                requested_by="manager@agency.test",
            ),
        ]
    )
    rebuild(db_session, incident, settings)
    timeline.record(
        db_session,
        incident,
        actor="manager@agency.test",
        kind="link",
        summary="Linked ticket 1001 and merged 1002 into it",
        now=at + timedelta(minutes=20),
    )
    states = {1: ["sent", "sent", "failed"], 2: ["sent", "sent", "retrying"]}
    for number, kind in ((1, "initial"), (2, "resolved")):
        update = Update(
            incident_id=incident.id,
            number=number,
            kind=kind,
            message="Text.",
            trigger="manual",
            created_at=at + timedelta(hours=number),
            created_by="manager@agency.test",
        )
        db_session.add(update)
        db_session.flush()
        for n, state in enumerate(states[number]):
            db_session.add(
                Delivery(
                    update_id=update.id,
                    email=f"c{n}@client.example",
                    organizations=[],
                    state=state,
                    message_id=f"<{number}.{n}@agency.test>",
                )
            )
    db_session.commit()
    return resolve(incident, at=at + timedelta(hours=3))


def row_cells(line: str) -> list[str]:
    """Split a Markdown table row on its unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_the_report_says_what_was_done(db_session, worked, settings, clock):
    text = report.to_markdown(report.build(db_session, worked, settings, now=clock.now()), settings)
    ref = worked.reference
    assert text.startswith(f"# Incident report (draft): {ref} Sites \\*down\\* \\| again \\<b\\>\n")
    assert "- Declared: 11:00 GMT, Tuesday 3 March 2026 by manager@agency.test" in text
    assert "- Resolved: 14:00 GMT, Tuesday 3 March 2026" in text
    assert "- Duration: 3 h 00 min" in text
    assert (
        "- 11:05 GMT, Tuesday 3 March 2026: major → critical by manager@agency.test (note: all clients)"
        in text
    )
    assert f"| Declared {ref} (major): Sites \\*down\\* \\| again \\<b\\> |" in text
    assert "2 organisations; 3 contacts." in text
    assert "| Bravo \\| Council | 1 | no |" in text
    update_rows = [
        row_cells(line) for line in text.splitlines() if line.startswith(("| 1 |", "| 2 |"))
    ]
    assert [(r[0], r[2], r[5]) for r in update_rows] == [
        ("1", "initial", "1 failed, 2 sent"),
        ("2", "resolved", "1 retrying, 2 sent"),
    ]
    link = "https://agency.zendesk.com/agent/tickets/1001"
    ticket_row = next(line for line in text.splitlines() if line.startswith(f"| [#1001]({link})"))
    assert row_cells(ticket_row)[1:3] == ["Our site \\| is down", "linked"]
    assert (
        "| [#1002](https://agency.zendesk.com/agent/tickets/1002) | Down again | merged |" in text
    )
    assert f"- Merge into [#1001]({link}): #1002 (done" in text
    assert "- Review meeting: 10:00 GMT, Tuesday 10 March 2026" in text
    assert "- Draft report due: 18:00 GMT, Thursday 5 March 2026" in text
    assert "- Report owner: Manager Person" in text
    for heading in ("## Root cause", "## What went well", "## What to improve"):
        assert heading in text


def test_an_open_incident_has_a_report_too(db_session, declare, settings, clock):
    incident = declare()
    clock.advance(minutes=45)
    text = report.to_markdown(
        report.build(db_session, incident, settings, now=clock.now()), settings
    )
    assert "- Duration: 45 min so far (still open)" in text
    assert "- Review meeting: not set" in text
    assert "No client updates were sent." in text


def test_markdown_blocks_keep_lines_but_not_markup():
    assert report.md_block("# Heading\n- item\n1. one\nplain *x*") == (
        "\\# Heading\n\\- item\n1\\. one\nplain \\*x\\*"
    )
    assert report.md("a\nb | [c](d)") == "a b \\| \\[c\\](d)"


def test_the_timeline_csv_is_in_the_configured_zone_and_safe_for_spreadsheets(
    db_session, declare, settings, clock
):
    incident = declare()
    timeline.record(
        db_session,
        incident,
        actor="@attacker",
        kind="note",
        summary='=HYPERLINK("http://evil.example","click")',
        now=clock.now(),
        details={"text": "-2+3"},
    )
    paris = replace(settings, web=WebSettings(timezone="Europe/Paris"))
    rows = list(
        csv.reader(io.StringIO(exports.timeline_csv(timeline.events(db_session, incident), paris)))
    )
    assert rows[0] == ["at", "actor", "kind", "summary", "details"]
    assert rows[1][:3] == ["2026-03-03T12:00:00+01:00", "manager@agency.test", "declared"]
    assert rows[2][:4] == [
        "2026-03-03T12:00:00+01:00",
        "'@attacker",
        "note",
        '\'=HYPERLINK("http://evil.example","click")',
    ]
    assert rows[2][4] == '{"text": "-2+3"}'


def test_the_timeline_markdown_lists_every_event(db_session, declare, settings, clock):
    incident = declare(title="A | B")
    text = exports.timeline_markdown(incident, timeline.events(db_session, incident), settings)
    assert text.splitlines()[0] == f"# Timeline: {incident.reference} A \\| B"
    assert (
        f"| 2026-03-03 11:00:00 GMT | manager@agency.test | declared | Declared {incident.reference} (major): A \\| B |"
        in text
    )


def invite(db_session, incident, settings, clock) -> Calendar:
    built = report.build(db_session, incident, settings, now=clock.now())
    return Calendar.from_ical(exports.review_invite(built, settings))


def test_the_invite_parses_back_with_its_attendees(db_session, worked, settings, clock, users):
    calendar = invite(db_session, worked, settings, clock)
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == london(2026, 3, 10, 10, 0)
    assert str(event["DTSTART"].params["TZID"]) == "Europe/London"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=1)
    assert str(event["SUMMARY"]) == f"Incident review: {worked.reference} Sites *down* | again <b>"
    assert f"http://comms.test/incidents/{worked.reference}/report" in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:manager@agency.test"
    assert sorted(str(a) for a in event["ATTENDEE"]) == [
        "mailto:lead@agency.test",
        "mailto:manager@agency.test",
    ]
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    uid, sequence = str(event["UID"]), int(event["SEQUENCE"])

    followup.change_review(
        db_session,
        worked,
        review_at=london(2026, 3, 11, 15, 0),
        owner=users["admin"],
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    [moved] = invite(db_session, worked, settings, clock).walk("VEVENT")
    assert str(moved["UID"]) == uid and int(moved["SEQUENCE"]) == sequence + 1
    assert moved.decoded("DTSTART") == london(2026, 3, 11, 15, 0)
    assert sorted(str(a) for a in moved["ATTENDEE"]) == [
        "mailto:admin@agency.test",
        "mailto:lead@agency.test",
        "mailto:manager@agency.test",
    ]
