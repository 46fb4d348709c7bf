"""The schedule rules: cadence per severity, working hours, the overnight update, catch-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from comms.config import ScheduleSettings
from comms.updates.schedule import (
    cadence,
    in_working_hours,
    next_working_start,
    plan_next,
    slots_between,
)

LONDON = ZoneInfo("Europe/London")
SCHEDULE = ScheduleSettings()


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def test_cadence_per_severity_and_none_for_trivial():
    assert cadence(SCHEDULE, "major") == timedelta(hours=1)
    assert cadence(SCHEDULE, "trivial") is None
    fast = replace(SCHEDULE, cadence_minutes={**SCHEDULE.cadence_minutes, "critical": 30})
    assert cadence(fast, "critical") == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (local(2026, 3, 3, 10, 0), True),  # Tuesday, the start is in hours
        (local(2026, 3, 3, 17, 59), True),
        (local(2026, 3, 3, 18, 0), False),  # the end is not
        (local(2026, 3, 3, 9, 59), False),
        (local(2026, 3, 7, 12, 0), False),  # Saturday
    ],
)
def test_working_hours_are_a_half_open_window_on_working_days(moment, inside):
    assert in_working_hours(moment, SCHEDULE, LONDON) is inside


def test_next_working_start_skips_the_weekend():
    friday_evening = local(2026, 3, 6, 19, 0)
    assert next_working_start(friday_evening, SCHEDULE, LONDON) == local(2026, 3, 9, 10, 0)
    tuesday_morning = local(2026, 3, 3, 8, 0)
    assert next_working_start(tuesday_morning, SCHEDULE, LONDON) == local(2026, 3, 3, 10, 0)


def test_hourly_in_working_hours():
    slot = plan_next(local(2026, 3, 3, 11, 0), "minor", SCHEDULE, LONDON)
    assert (slot.due_at, slot.overnight) == (local(2026, 3, 3, 12, 0), False)


def test_minor_incident_at_half_past_five_on_a_tuesday_gets_the_overnight_update():
    slot = plan_next(local(2026, 3, 3, 17, 30), "minor", SCHEDULE, LONDON)
    assert slot.overnight
    assert slot.due_at == local(2026, 3, 4, 10, 0)


def test_friday_evening_resumes_on_monday_morning():
    slot = plan_next(local(2026, 3, 6, 17, 30), "major", SCHEDULE, LONDON)
    assert slot == plan_next(local(2026, 3, 6, 17, 30), "minor", SCHEDULE, LONDON)
    assert slot.overnight and slot.due_at == local(2026, 3, 9, 10, 0)


def test_critical_keeps_the_cadence_through_the_night_and_weekend():
    slot = plan_next(local(2026, 3, 7, 23, 30), "critical", SCHEDULE, LONDON)
    assert (slot.due_at, slot.overnight) == (local(2026, 3, 8, 0, 30), False)


def test_early_morning_update_is_not_called_overnight():
    slot = plan_next(local(2026, 3, 3, 8, 0), "minor", SCHEDULE, LONDON)
    assert (slot.due_at, slot.overnight) == (local(2026, 3, 3, 10, 0), False)


def test_trivial_plans_nothing():
    slot = plan_next(local(2026, 3, 3, 11, 0), "trivial", SCHEDULE, LONDON)
    assert (slot.due_at, slot.overnight) == (None, False)


def test_working_hours_follow_summer_time():
    # 29 March 2026 the clocks go forward: 10:00 BST is 09:00 UTC.
    monday = next_working_start(local(2026, 3, 27, 18, 0), SCHEDULE, LONDON)
    assert monday == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_slots_between_lists_the_missed_slots_then_the_current_one():
    slots = slots_between(
        local(2026, 3, 3, 11, 0), local(2026, 3, 3, 16, 0), "major", SCHEDULE, LONDON
    )
    assert [s.astimezone(LONDON).hour for s in slots] == [11, 12, 13, 14, 15, 16]
    overnight = slots_between(
        local(2026, 3, 3, 17, 0), local(2026, 3, 4, 11, 30), "minor", SCHEDULE, LONDON
    )
    assert [s.astimezone(LONDON).hour for s in overnight] == [17, 10, 11]


def test_slots_between_is_just_the_due_slot_when_on_time():
    due = local(2026, 3, 3, 11, 0)
    assert slots_between(due, due + timedelta(seconds=30), "major", SCHEDULE, LONDON) == [due]
