"""Reminders to the report owner, over a real SMTP server: the draft's due day, the day before."""

from __future__ import annotations

from dataclasses import replace

from comms.config import SmtpSettings
from comms.followup import service as followup
from comms.followup.service import send_followup_reminders
from comms.sandbox.mailcatcher import free_port
from tests.followup.test_dates import london


def test_each_reminder_goes_once_at_its_time(declare, resolve, sessions, settings, clock, catcher):
    incident = resolve(declare())  # Tuesday 3 March: review Tue 10 March 10:00, draft due Thu 5
    ref = incident.reference
    assert send_followup_reminders(sessions, settings, clock=clock) == 0

    clock.set(london(2026, 3, 5, 9, 59))
    assert send_followup_reminders(sessions, settings, clock=clock) == 0
    clock.set(london(2026, 3, 5, 10, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    assert send_followup_reminders(sessions, settings, clock=clock) == 0
    clock.advance(hours=5)
    assert send_followup_reminders(sessions, settings, clock=clock) == 0

    [draft] = catcher.messages
    assert draft.rcpt_tos == ("manager@agency.test",)
    assert (
        draft.subject
        == f"Draft report due: {ref} Sites on the WordPress platform down by 18:00 GMT"
    )
    assert "Hello Manager Person," in draft.text
    assert "due by 18:00 GMT, Thursday 5 March" in draft.text
    assert "review meeting at 10:00 GMT, Tuesday 10 March" in draft.text
    assert f"http://comms.test/incidents/{ref}/report" in draft.text
    assert f'href="http://comms.test/incidents/{ref}/report"' in draft.html
    assert draft.message["X-Incident-Reference"] == ref

    clock.set(london(2026, 3, 9, 10, 0))  # Monday: the working day before the meeting
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    assert send_followup_reminders(sessions, settings, clock=clock) == 0
    clock.set(london(2026, 3, 10, 11, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 0

    review = catcher.messages[1]
    assert len(catcher.messages) == 2
    assert review.subject == (
        f"Incident review at 10:00 GMT, Tuesday 10 March: {ref} Sites on the WordPress platform down"
    )
    assert f"http://comms.test/incidents/{ref}/report" in review.text
    with sessions() as db:
        reminded = [
            e.summary
            for e in db.get(type(incident), incident.id).events
            if e.kind == "followup_reminder"
        ]
    assert reminded == [
        "Reminded manager@agency.test of the draft report's due date.",
        "Reminded manager@agency.test of the review meeting.",
    ]


def test_the_review_reminder_for_a_monday_meeting_goes_on_friday(
    declare, resolve, sessions, settings, clock, catcher
):
    resolve(declare(), at=london(2026, 3, 7, 12, 0))  # Saturday: review Mon 16, draft due Wed 11
    clock.set(london(2026, 3, 11, 10, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    clock.set(london(2026, 3, 13, 10, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    assert [m.subject.split(":")[0] for m in catcher.messages] == [
        "Draft report due",
        "Incident review at 10",
    ]


def test_a_reminder_waits_while_the_mail_server_is_down(
    declare, resolve, sessions, settings, clock, catcher
):
    resolve(declare())
    clock.set(london(2026, 3, 5, 10, 0))
    down = replace(
        settings, smtp=SmtpSettings(backend="smtp", port=free_port("127.0.0.1"), timeout=1)
    )
    assert send_followup_reminders(sessions, down, clock=clock) == 0
    assert catcher.messages == []
    clock.advance(minutes=1)
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    assert len(catcher.messages) == 1


def test_a_new_owner_or_a_later_meeting_is_reminded_again(
    db_session, declare, resolve, sessions, settings, clock, catcher, users
):
    incident = resolve(declare())
    clock.set(london(2026, 3, 5, 10, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    db_session.refresh(incident)
    followup.change_review(
        db_session,
        incident,
        review_at=london(2026, 3, 17, 10, 0),
        owner=users["manager"],
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )  # a week later: the draft is now due Thu 12
    db_session.commit()
    assert send_followup_reminders(sessions, settings, clock=clock) == 0
    followup.change_review(
        db_session,
        incident,
        review_at=london(2026, 3, 17, 10, 0),
        owner=users["admin"],
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    clock.set(london(2026, 3, 12, 10, 0))
    assert send_followup_reminders(sessions, settings, clock=clock) == 1
    assert [m.rcpt_tos for m in catcher.messages] == [
        ("manager@agency.test",),
        ("admin@agency.test",),
    ]
    assert "due by 18:00 GMT, Thursday 12 March" in catcher.messages[1].text


def test_a_skipped_review_sends_no_reminders(
    db_session, declare, resolve, sessions, settings, clock, catcher
):
    incident = resolve(declare(severity="trivial"))
    followup.skip_review(
        db_session, incident, by="manager@agency.test", now=clock.now(), note="a blip"
    )
    db_session.commit()
    for day in (5, 9):
        clock.set(london(2026, 3, day, 10, 0))
        assert send_followup_reminders(sessions, settings, clock=clock) == 0
    assert catcher.messages == []
    assert incident.events[-1].summary == "No review meeting or report needed. Note: a blip"


def test_the_scheduler_tick_sends_the_follow_up_reminders(
    declare, resolve, sessions, settings, clock, catcher
):
    from comms.updates.scheduler import tick

    resolve(declare())
    clock.set(london(2026, 3, 5, 10, 0))  # the draft's due day
    report = tick(sessions, settings, clock=clock)
    assert report.reminders == 1
    assert [m.subject.split(":")[0] for m in catcher.messages] == ["Draft report due"]
