"""The state of an incident's client updates in words, for the header and the dashboard.

A pure function of the incident's schedule facts and `now`: "next update 14:00 (in 12 min)",
"paused by Dana at 13:20", "overnight: next update 10:00 Wednesday", "resolved". The schedule's
own rules (comms/updates/schedule.py) say what is overnight; nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from comms.config import ScheduleSettings
from comms.updates.schedule import cadence, next_working_start


@dataclass(frozen=True)
class ScheduleFacts:
    """What the words are made of: the incident's schedule and who paused it, when."""

    is_open: bool
    severity: str
    next_update_due_at: datetime | None
    paused: bool
    paused_by: str = ""
    paused_at: datetime | None = None


def span(seconds: float) -> str:
    """A length of time as a person says it: "12 min", "3 h 05 min", "4 days"."""
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days"


def describe(
    facts: ScheduleFacts, *, now: datetime, schedule: ScheduleSettings, zone: ZoneInfo
) -> str:
    """The state of the client updates in words, as the header and the dashboard say it."""
    if not facts.is_open:
        return "resolved"
    if facts.paused:
        who = f" by {facts.paused_by}" if facts.paused_by else ""
        when = f" at {_clock(facts.paused_at, now, zone)}" if facts.paused_at else ""
        return f"paused{who}{when}"
    due = facts.next_update_due_at
    if due is None:
        if cadence(schedule, facts.severity) is None:
            return f"no automatic updates at {facts.severity} severity"
        return "no update sent yet"
    seconds = (due - now).total_seconds()
    if seconds <= -60:
        return f"next update {_clock(due, now, zone)} ({span(seconds)} overdue)"
    if schedule.working_days and due >= next_working_start(now, schedule, zone):
        # The next update waits for working hours to start again: clients were told so.
        return f"overnight: next update {_clock(due, now, zone, always_day=True)}"
    if seconds < 60:  # never "in 0 min" nor "0 min overdue"
        return f"next update {_clock(due, now, zone)} (due now)"
    return f"next update {_clock(due, now, zone)} (in {span(seconds)})"


def _clock(moment: datetime, now: datetime, zone: ZoneInfo, *, always_day: bool = False) -> str:
    """ "14:00" today ("14:00 today"), "10:00 Wednesday" within a week, else "10:00 Wed 9 Dec"."""
    local = moment.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if days == 0:
        return f"{local:%H:%M} today" if always_day else f"{local:%H:%M}"
    if abs(days) < 7:
        return f"{local:%H:%M %A}"
    return f"{local:%H:%M %a} {local.day} {local:%b}"
