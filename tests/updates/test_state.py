"""The state of the client updates in words: one phrase per state of the schedule."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from comms.auth.service import create_user
from comms.config import ScheduleSettings
from comms.updates.control import schedule_states, set_paused
from comms.updates.state import ScheduleFacts, describe

LONDON = ZoneInfo("Europe/London")
SCHEDULE = ScheduleSettings()  # hourly but trivial, 10:00-18:00 Monday to Friday


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026 in London (Tuesday the 1st, Wednesday the 2nd, ...)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=LONDON)


def words(now: datetime, **facts) -> str:
    base = {"is_open": True, "severity": "major", "next_update_due_at": None, "paused": False}
    return describe(ScheduleFacts(**{**base, **facts}), now=now, schedule=SCHEDULE, zone=LONDON)


def test_the_next_update_today_says_its_time_and_how_long_until_it():
    assert words(local(1, 13, 48), next_update_due_at=local(1, 14)) == (
        "next update 14:00 (in 12 min)"
    )


def test_an_overdue_update_says_by_how_much():
    assert words(local(1, 14, 7), next_update_due_at=local(1, 14)) == (
        "next update 14:00 (7 min overdue)"
    )


def test_an_update_due_within_the_minute_is_due_now_never_in_0_min():
    due = local(1, 14)
    for moment in (due - timedelta(seconds=59), due, due + timedelta(seconds=59)):
        assert words(moment, next_update_due_at=due) == "next update 14:00 (due now)"
    assert words(due - timedelta(seconds=60), next_update_due_at=due) == (
        "next update 14:00 (in 1 min)"
    )


def test_a_paused_schedule_names_who_paused_it_and_when_not_a_countdown():
    paused = {"paused": True, "paused_by": "Dana", "paused_at": local(1, 13, 20)}
    assert words(local(1, 14, 30), next_update_due_at=local(1, 14), **paused) == (
        "paused by Dana at 13:20"
    )
    assert words(local(2, 9), **paused) == "paused by Dana at 13:20 Tuesday"  # within a week
    assert words(local(1, 14), paused=True) == "paused"  # nobody known to have paused it


def test_after_working_hours_the_next_update_is_the_overnight_one_with_its_day():
    # Tuesday 17:30: the 17:00 update said updates resume at 10:00 on Wednesday.
    assert words(local(1, 17, 30), next_update_due_at=local(2, 10)) == (
        "overnight: next update 10:00 Wednesday"
    )
    # Wednesday 03:00, out of hours: it is still overnight, and the update is today.
    assert words(local(2, 3), next_update_due_at=local(2, 10)) == (
        "overnight: next update 10:00 today"
    )
    # Friday evening: the weekend waits too.
    assert words(local(4, 18, 30), next_update_due_at=local(7, 10)) == (
        "overnight: next update 10:00 Monday"
    )


def test_a_critical_incident_keeps_its_cadence_through_the_night():
    assert words(local(1, 23, 10), severity="critical", next_update_due_at=local(2, 0)) == (
        "next update 00:00 Wednesday (in 50 min)"
    )


def test_a_resolved_incident_says_resolved_whatever_its_schedule_said():
    assert words(local(1, 14), is_open=False, next_update_due_at=local(1, 15)) == "resolved"
    assert words(local(1, 14), is_open=False, paused=True) == "resolved"


def test_nothing_planned_says_why():
    assert words(local(1, 14)) == "no update sent yet"
    assert words(local(1, 14), severity="trivial") == "no automatic updates at trivial severity"


def test_an_update_a_long_way_off_names_its_date():
    weekly = replace(SCHEDULE, cadence_minutes={"major": 60 * 24 * 10}, working_days=())
    facts = ScheduleFacts(True, "major", local(11, 14), False)
    assert describe(facts, now=local(1, 14), schedule=weekly, zone=LONDON) == (
        "next update 14:00 Fri 11 Dec (in 10 days)"
    )


def test_the_words_of_each_incident_name_who_paused_it_from_the_timeline(
    db_session, settings, clock, make_incident
):
    dana = create_user(
        db_session,
        email="dana@agency.test",
        name="Dana",
        role="manager",
        password="x" * 12,
        now=clock.now(),
    )
    paused, running = make_incident("major"), make_incident("major")
    running.next_update_due_at = clock.now() + timedelta(minutes=12)
    for by, at in (("someone@agency.test", 0), (dana.email, 20)):  # the last pause counts
        set_paused(
            db_session, paused, paused=False, reason="", by=by, now=clock.now(), settings=settings
        )
        set_paused(
            db_session,
            paused,
            paused=True,
            reason="Waiting for the vendor",
            by=by,
            now=clock.now() + timedelta(minutes=at),
            settings=settings,
        )
    db_session.commit()
    states = schedule_states(
        db_session, [paused, running], now=clock.now() + timedelta(hours=1), settings=settings
    )
    # settings.web.tz is UTC in the tests: the clock says 11:00.
    assert states == {
        paused.id: "paused by Dana at 11:20",
        running.id: "next update 11:12 (48 min overdue)",
    }
