"""Simulated hours with a frozen clock: the hourly schedule, nights, catch-up, pause, reminders."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from comms.auth.service import create_user
from comms.config import Settings
from comms.incidents.models import TimelineEvent
from comms.mail.render import TemplateProblem
from comms.paths import templates_dir
from comms.updates.control import set_paused
from comms.updates.models import Delivery, Update
from comms.updates.scheduler import tick
from comms.updates.sender import send_pending
from comms.updates.service import publish
from tests.updates.conftest import received_by

BY = "manager@agency.test"


def updates_of(db_session, incident) -> list[Update]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(Update).filter_by(incident_id=incident.id).order_by(Update.number)
        )
    )


def events(db_session, kind: str) -> list[TimelineEvent]:
    return list(
        db_session.scalars(select(TimelineEvent).filter_by(kind=kind).order_by(TimelineEvent.id))
    )


def start(db_session, settings, clock, incident, message="Sites are slow."):
    publish(db_session, incident, message=message, by=BY, now=clock.now(), settings=settings)
    db_session.commit()


def run_hours(sessions, settings, clock, hours: float, step_minutes: int = 30):
    """Tick every `step_minutes` for `hours` of simulated time."""
    for _ in range(int(hours * 60 / step_minutes)):
        clock.advance(minutes=step_minutes)
        tick(sessions, settings, clock=clock)


def test_an_update_goes_out_every_hour_with_the_latest_text(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("major", contacts=2)
    start(db_session, settings, clock, incident)
    tick(sessions, settings, clock=clock)
    run_hours(sessions, settings, clock, 3)
    made = updates_of(db_session, incident)
    assert [u.kind for u in made] == ["initial", "update", "update", "update"]
    assert [u.trigger for u in made] == ["manual", "schedule", "schedule", "schedule"]
    assert all(u.repeats_previous for u in made[1:])
    assert received_by(catcher) == {"contact1@client1.example": 4, "contact2@client2.example": 4}
    assert "There is no change since our last update." in catcher.messages[-1].text


def test_minor_incident_gets_an_overnight_update_and_resumes_next_morning(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 16, 30, tzinfo=UTC))  # Tuesday, London is on GMT
    incident = make_incident("minor", contacts=1)
    start(db_session, settings, clock, incident)
    run_hours(sessions, settings, clock, 1)  # 17:30: the last update of the day
    overnight = updates_of(db_session, incident)[-1]
    assert overnight.kind == "overnight"
    assert overnight.next_update_at == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert "10:00 GMT, Wednesday 4 March" in catcher.messages[-1].text
    assert "pause overnight" in catcher.messages[-1].text
    run_hours(sessions, settings, clock, 16)  # through the night to 09:30
    assert len(updates_of(db_session, incident)) == 2
    run_hours(sessions, settings, clock, 0.5)  # 10:00
    assert [u.kind for u in updates_of(db_session, incident)] == ["initial", "overnight", "update"]
    assert len(catcher.messages) == 3


def test_friday_evening_resumes_on_monday_at_ten(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 6, 17, 30, tzinfo=UTC))  # Friday
    incident = make_incident("major", contacts=1)
    start(db_session, settings, clock, incident)
    assert updates_of(db_session, incident)[0].next_update_at == datetime(
        2026, 3, 9, 10, 0, tzinfo=UTC
    )
    run_hours(sessions, settings, clock, 64, step_minutes=60)  # to Monday 09:30
    assert len(updates_of(db_session, incident)) == 1
    run_hours(sessions, settings, clock, 0.5)
    assert len(updates_of(db_session, incident)) == 2


def test_critical_keeps_hourly_updates_through_the_night(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 21, 0, tzinfo=UTC))
    incident = make_incident("critical", contacts=1)
    start(db_session, settings, clock, incident)
    run_hours(sessions, settings, clock, 4)
    made = updates_of(db_session, incident)
    assert [u.created_at.hour for u in made] == [21, 22, 23, 0, 1]
    assert "overnight" not in [u.kind for u in made]


def test_trivial_incidents_have_no_automatic_updates(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("trivial", contacts=1)
    start(db_session, settings, clock, incident)
    run_hours(sessions, settings, clock, 3, step_minutes=60)
    assert len(updates_of(db_session, incident)) == 1 and incident.next_update_due_at is None


def test_after_downtime_only_the_current_update_goes_out_and_missed_slots_are_recorded(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("major", contacts=2)
    start(db_session, settings, clock, incident)  # 11:00, next due 12:00
    tick(sessions, settings, clock=clock)
    clock.advance(hours=5, minutes=10)  # the scheduler was down until 16:10
    tick(sessions, settings, clock=clock)
    tick(sessions, settings, clock=clock)
    made = updates_of(db_session, incident)
    assert len(made) == 2 and len(catcher.messages) == 4
    (missed,) = events(db_session, "slots_missed")
    assert (
        "4 update slot(s)" in missed.summary
        and "12:00 GMT, 13:00 GMT, 14:00 GMT, 15:00 GMT" in missed.summary
    )
    # The update sent at 16:10 fills the 16:00 slot: the next one keeps to the hour.
    assert made[-1].next_update_at == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


def test_minor_incident_is_not_updated_at_night_after_downtime(
    db_session, sessions, settings, clock, catcher, make_incident
):
    """The scheduler is down over the 17:00 slot (the overnight update) and back at 03:00."""
    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))  # Tuesday, London is on GMT
    incident = make_incident("minor", contacts=1)
    start(db_session, settings, clock, incident)
    tick(sessions, settings, clock=clock)
    assert incident.next_update_due_at == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)

    clock.set(datetime(2026, 3, 4, 3, 0, tzinfo=UTC))  # Wednesday 03:00
    report = tick(sessions, settings, clock=clock)
    assert report.due.published == [] and report.due.deferred == [incident.reference]
    assert len(updates_of(db_session, incident)) == 1 and len(catcher.messages) == 1
    db_session.refresh(incident)
    assert incident.next_update_due_at == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    (missed,) = events(db_session, "slots_missed")
    assert missed.details["missed"] == ["2026-03-03T17:00:00+00:00"]
    assert missed.details["resumes_at"] == "2026-03-04T10:00:00+00:00"
    assert "scheduler was not running" in missed.summary
    assert "(17:00 GMT)" in missed.summary and "overnight update" in missed.summary
    assert "10:00 GMT, Wednesday 4 March" in missed.summary

    run_hours(sessions, settings, clock, 6.5)  # through the night to 09:30: still nothing
    assert len(updates_of(db_session, incident)) == 1 and len(catcher.messages) == 1
    assert len(events(db_session, "slots_missed")) == 1

    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    tick(sessions, settings, clock=clock)
    made = updates_of(db_session, incident)
    assert [(u.kind, u.trigger) for u in made] == [("initial", "manual"), ("update", "schedule")]
    assert made[-1].created_at == clock.now()
    assert made[-1].next_update_at == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert len(catcher.messages) == 2 and len(events(db_session, "slots_missed")) == 1


def test_a_minor_update_a_tick_late_at_the_end_of_the_day_is_still_the_overnight_one(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 16, 59, 50, tzinfo=UTC))
    incident = make_incident("minor", contacts=1)
    start(db_session, settings, clock, incident)  # the next is due 17:59:50
    clock.set(datetime(2026, 3, 3, 18, 0, 10, tzinfo=UTC))  # one tick later, out of hours
    tick(sessions, settings, clock=clock)
    made = updates_of(db_session, incident)
    assert [u.kind for u in made] == ["initial", "overnight"]
    assert made[-1].next_update_at == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert not events(db_session, "slots_missed")


def test_critical_incident_still_catches_up_once_at_night_after_downtime(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))
    incident = make_incident("critical", contacts=1)
    start(db_session, settings, clock, incident)
    tick(sessions, settings, clock=clock)
    clock.set(datetime(2026, 3, 4, 3, 0, 20, tzinfo=UTC))  # down from 17:00 to 03:00
    tick(sessions, settings, clock=clock)
    tick(sessions, settings, clock=clock)
    made = updates_of(db_session, incident)
    assert [u.kind for u in made] == ["initial", "update"] and len(catcher.messages) == 2
    assert made[-1].next_update_at == datetime(2026, 3, 4, 4, 0, tzinfo=UTC)
    (missed,) = events(db_session, "slots_missed")
    assert len(missed.details["missed"]) == 10  # 17:00 to 02:00
    assert "one current update was sent instead" in missed.summary


def test_automatic_updates_keep_to_their_slots_without_drifting(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    incident = make_incident("major", contacts=1)
    start(db_session, settings, clock, incident)  # the next is due 11:00
    for hour in (11, 12, 13, 14):
        clock.set(datetime(2026, 3, 3, hour, 0, 25, tzinfo=UTC))  # each tick 25 s after the slot
        tick(sessions, settings, clock=clock)
        db_session.refresh(incident)
        assert incident.next_update_due_at == datetime(2026, 3, 3, hour + 1, 0, tzinfo=UTC)
    made = updates_of(db_session, incident)
    assert [u.next_update_at.hour for u in made] == [11, 12, 13, 14, 15]
    assert all(u.next_update_at.second == 0 for u in made)
    assert "15:00 GMT, Tuesday 3 March" in catcher.messages[-1].text


def test_the_last_update_of_the_day_is_planned_from_its_slot(
    db_session, sessions, settings, clock, catcher, make_incident
):
    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))
    incident = make_incident("minor", contacts=1)
    start(db_session, settings, clock, incident)  # due 17:00; 18:00 is out of hours
    clock.set(datetime(2026, 3, 3, 17, 0, 25, tzinfo=UTC))
    tick(sessions, settings, clock=clock)
    last = updates_of(db_session, incident)[-1]
    assert last.kind == "overnight"
    assert last.next_update_at == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_sending_manually_restarts_the_clock(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("major", contacts=1)
    start(db_session, settings, clock, incident)
    clock.advance(minutes=45)
    start(db_session, settings, clock, incident, message="New news.")
    run_hours(sessions, settings, clock, 0.5, step_minutes=15)  # 12:15: the old slot is gone
    assert len(updates_of(db_session, incident)) == 2
    run_hours(sessions, settings, clock, 0.5, step_minutes=15)  # 12:45
    assert len(updates_of(db_session, incident)) == 3


def test_paused_incidents_get_no_automatic_updates_until_resumed(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("major", contacts=1)
    start(db_session, settings, clock, incident)
    set_paused(
        db_session,
        incident,
        paused=True,
        reason="Waiting for the vendor",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    run_hours(sessions, settings, clock, 3)
    assert len(updates_of(db_session, incident)) == 1
    set_paused(
        db_session, incident, paused=False, reason="", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    assert incident.next_update_due_at == clock.now() + timedelta(hours=1)
    run_hours(sessions, settings, clock, 1)
    assert len(updates_of(db_session, incident)) == 2
    assert events(db_session, "schedule_paused")[0].summary.endswith("Waiting for the vendor")
    assert len(events(db_session, "schedule_resumed")) == 1
    assert not events(db_session, "slots_missed")


def test_the_comms_manager_is_reminded_once_before_each_automatic_update(
    db_session, sessions, settings, clock, catcher, make_incident
):
    manager = create_user(
        db_session,
        email="cm@agency.test",
        name="Casey Manager",
        role="manager",
        password="x" * 12,
        now=clock.now(),
    )
    db_session.commit()
    incident = make_incident("major", contacts=1, comms_manager_id=manager.id)
    start(db_session, settings, clock, incident)
    tick(sessions, settings, clock=clock)
    clock.advance(minutes=45)
    tick(sessions, settings, clock=clock)
    assert received_by(catcher).get("cm@agency.test") is None
    clock.advance(minutes=6)  # 11:51, nine minutes before
    tick(sessions, settings, clock=clock)
    clock.advance(minutes=2)
    tick(sessions, settings, clock=clock)
    reminders = [m for m in catcher.messages if m.rcpt_tos == ("cm@agency.test",)]
    assert len(reminders) == 1
    assert (
        reminders[0].subject
        == f"Reminder: the {incident.reference} client update goes out at 12:00 GMT"
    )
    assert "Sites are slow." in reminders[0].text and "Casey Manager" in reminders[0].text
    run_hours(sessions, settings, clock, 1, step_minutes=10)
    assert len([m for m in catcher.messages if m.rcpt_tos == ("cm@agency.test",)]) == 2


@pytest.fixture
def broken_templates(tmp_path):
    """Our own copy of the e-mail templates ([web] email_templates); breaks() breaks `update`."""
    copy = tmp_path / "email"
    shutil.copytree(templates_dir() / "email", copy)

    def use(settings: Settings) -> Settings:
        return replace(settings, web=replace(settings.web, email_templates=str(copy)))

    def breaks() -> None:
        body = copy / "update" / "body.txt"
        body.write_text(
            body.read_text().replace("{% block body %}", "{% block body %}{{ no_such_value }}")
        )

    return use, breaks


def test_a_broken_template_sends_nothing_and_says_so(
    db_session, sessions, settings, clock, catcher, make_incident, broken_templates
):
    use_copy, breaks = broken_templates
    settings = use_copy(settings)
    incident = make_incident("major", contacts=3)
    start(db_session, settings, clock, incident)
    send_pending(sessions, settings, clock=clock)
    breaks()
    with pytest.raises(TemplateProblem, match="no_such_value"):
        publish(db_session, incident, message="News", by=BY, now=clock.now(), settings=settings)
    db_session.rollback()
    assert len(updates_of(db_session, incident)) == 1

    clock.advance(hours=1)
    tick(sessions, settings, clock=clock)
    tick(sessions, settings, clock=clock)
    assert len(updates_of(db_session, incident)) == 1 and len(catcher.messages) == 3
    (held,) = events(db_session, "automatic_update_held")
    assert "body.txt" in held.summary and "no_such_value" in held.summary


def test_a_template_broken_after_publishing_holds_every_message_back(
    db_session, sessions, settings, clock, catcher, make_incident, broken_templates
):
    use_copy, breaks = broken_templates
    settings = use_copy(settings)
    incident = make_incident("major", contacts=3)
    start(db_session, settings, clock, incident)
    send_pending(sessions, settings, clock=clock)
    start(db_session, settings, clock, incident, message="News")
    breaks()
    report = send_pending(sessions, settings, clock=clock)
    assert report.sent == 0 and "no_such_value" in report.problem
    pending = db_session.scalar(
        select(func.count()).select_from(Delivery).filter_by(state="pending")
    )
    assert pending == 3 and len(catcher.messages) == 3
    assert "no_such_value" in updates_of(db_session, incident)[-1].send_problem
