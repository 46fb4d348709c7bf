"""When the next client update is due: cadence per severity, working hours and catch-up.

Pure functions of aware datetimes and the schedule settings; nothing here reads the database.
Working hours are a half-open local window [start, end): with "10:00-18:00" an update at
17:59 is in hours and one at 18:00 is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from comms.config import WEEKDAYS, ScheduleSettings

# A scheduler down for weeks must not make catch-up loop for ever.
MAX_SLOTS_COUNTED = 1000


@dataclass(frozen=True)
class NextSlot:
    """The next automatic update (None: none planned) and whether this one is the overnight one."""

    due_at: datetime | None
    overnight: bool


def cadence(schedule: ScheduleSettings, severity: str) -> timedelta | None:
    """The time between automatic updates at a severity; None when there are none (0 minutes)."""
    minutes = schedule.cadence_minutes.get(severity, 0)
    return timedelta(minutes=minutes) if minutes > 0 else None


def _is_working_day(local: datetime, schedule: ScheduleSettings) -> bool:
    return WEEKDAYS[local.weekday()] in schedule.working_days


def _at(local_day: datetime, hour_minute: tuple[int, int], zone: ZoneInfo) -> datetime:
    """The given local wall-clock time on the day of `local_day`, as an aware datetime."""
    wall = time(hour_minute[0], hour_minute[1])
    return datetime.combine(local_day.date(), wall, tzinfo=zone)


def in_working_hours(moment: datetime, schedule: ScheduleSettings, zone: ZoneInfo) -> bool:
    """True on a working day between the start (inclusive) and end (exclusive) of hours."""
    local = moment.astimezone(zone)
    start, end = schedule.working_window
    if not _is_working_day(local, schedule):
        return False
    return _at(local, start, zone) <= local < _at(local, end, zone)


def next_working_start(moment: datetime, schedule: ScheduleSettings, zone: ZoneInfo) -> datetime:
    """The first start of working hours at or after `moment` (in UTC)."""
    if not schedule.working_days:
        raise ValueError("schedule.working_days is empty: there is no working period to resume")
    local = moment.astimezone(zone)
    start, _ = schedule.working_window
    for days_ahead in range(8):
        day = local + timedelta(days=days_ahead)
        candidate = _at(day, start, zone)
        if _is_working_day(day, schedule) and candidate >= local:
            return candidate.astimezone(UTC)
    raise AssertionError("a working day always comes within a week")  # pragma: no cover


def plan_next(now: datetime, severity: str, schedule: ScheduleSettings, zone: ZoneInfo) -> NextSlot:
    """Plan the update after one sent at `now`.

    Critical incidents keep the cadence through the night. For the others, a next slot out of
    hours moves to the start of the next working period; when that is on a later local day,
    the update sent now is the `overnight` one that tells clients when updates resume.
    """
    every = cadence(schedule, severity)
    if every is None:
        return NextSlot(None, False)
    candidate = now + every
    if severity == "critical" or in_working_hours(candidate, schedule, zone):
        return NextSlot(candidate.astimezone(UTC), False)
    resume = next_working_start(candidate, schedule, zone)
    later_day = resume.astimezone(zone).date() > now.astimezone(zone).date()
    return NextSlot(resume, later_day)


def slots_between(
    due_at: datetime, now: datetime, severity: str, schedule: ScheduleSettings, zone: ZoneInfo
) -> list[datetime]:
    """Every slot from `due_at` up to `now`, following the same rules as plan_next.

    The last one is the update to send now; any before it were missed (the scheduler was down).
    """
    slots = [due_at]
    while len(slots) < MAX_SLOTS_COUNTED:
        following = plan_next(slots[-1], severity, schedule, zone).due_at
        if following is None or following > now:
            break
        slots.append(following)
    return slots
