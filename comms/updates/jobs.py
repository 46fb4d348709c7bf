"""Automatic updates: find the incidents whose update is due and publish one for each.

After the scheduler was down, only the current update goes out (once); the slots it missed are
written on the timeline. A non-critical incident gets nothing out of hours: when the scheduler
comes back at night, the missed slots are written down and the update waits for the start of
the next working period. An automatic update fills its slot, so the next slot is planned from
that slot, not from the moment the tick came round (no drift). Every incident is handled in
its own transaction, under its row lock, and re-checked there, so a manual "send now" at the
same moment wins and nothing doubles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.contacts.refresh import refresh
from comms.incidents.models import Incident
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.timeline import latest, record
from comms.updates.schedule import (
    cadence,
    in_working_hours,
    next_working_start,
    plan_next,
    slots_between,
)
from comms.updates.service import UpdateProblem, lock, publish
from comms.zendesk import Gateway

log = logging.getLogger(__name__)
SCHEDULER = "scheduler"


@dataclass
class DueReport:
    """What one run over the due incidents did, by incident reference."""

    published: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # missed, waiting for working hours


def due_updates(db_session: Session, settings: Settings, *, now: datetime) -> list[Incident]:
    """Open, unpaused incidents whose next automatic update is due, the most overdue first."""
    query = select(Incident).where(
        Incident.status != "resolved",
        Incident.schedule_paused.is_(False),
        Incident.next_update_due_at <= now,
    )
    return list(db_session.scalars(query.order_by(Incident.next_update_due_at)))


def run_due(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    gateway: Gateway | None = None,
    published: Callable[[], None] | None = None,
) -> DueReport:
    """Refresh contacts and publish the due update of every due incident.

    `published` is called after each update is committed (the scheduler wakes its sender
    then), so sending starts with the first update, not after the last.
    """
    report = DueReport()
    with session_factory() as db_session:
        due_ids = [incident.id for incident in due_updates(db_session, settings, now=clock.now())]
    for incident_id in due_ids:
        if gateway is not None:
            _refresh_contacts(session_factory, settings, incident_id, gateway, clock)
        try:
            if _publish_due(session_factory, settings, incident_id, clock, report) and published:
                published()
        except Exception:  # one broken incident must not stop the others' updates
            log.exception("the automatic update of incident %s failed", incident_id)
            report.held.append(f"INC-{incident_id}")
    return report


def _refresh_contacts(
    session_factory: Callable[[], Session],
    settings: Settings,
    incident_id: int,
    gateway: Gateway,
    clock: Clock,
) -> None:
    """Read the contacts again from Zendesk; on trouble the last snapshot is used."""
    with session_factory() as db_session:
        incident = db_session.get_one(Incident, incident_id)
        try:
            refresh(db_session, gateway, incident, settings, now=clock.now())
            db_session.commit()
        except Exception:  # refresh handles Zendesk itself; anything else keeps the snapshot
            db_session.rollback()
            log.exception("refreshing the contacts of %s failed", incident.reference)


def _publish_due(
    session_factory: Callable[[], Session],
    settings: Settings,
    incident_id: int,
    clock: Clock,
    report: DueReport,
) -> bool:
    """Publish one incident's due update; True when it was published."""
    with session_factory() as db_session:
        incident = db_session.get_one(Incident, incident_id)
        lock(db_session, incident)
        db_session.refresh(incident)
        now, due = clock.now(), incident.next_update_due_at
        if incident.schedule_paused or not incident.is_open or due is None or due > now:
            return False  # someone sent manually, paused or resolved meanwhile
        slots = slots_between(due, now, incident.severity, settings.schedule, settings.web.tz)
        if _too_late_tonight(incident.severity, slots[-1], now, settings):
            _wait_for_working_hours(db_session, incident, slots, now=now, settings=settings)
            db_session.commit()
            report.deferred.append(incident.reference)
            return False
        try:
            publish(
                db_session,
                incident,
                message=incident.current_message,
                trigger="schedule",
                by=SCHEDULER,
                now=now,
                settings=settings,
                planned_from=_slot_filled(incident.severity, slots[-1], now, settings),
            )
        except (TemplateProblem, UpdateProblem) as problem:
            db_session.rollback()
            # A broken template, or no list because Zendesk failed: try again at the next tick.
            keep_slot = isinstance(problem, TemplateProblem) or bool(
                incident.contacts_refresh_error
            )
            _hold(db_session, incident, due, str(problem), keep_slot, now=now, settings=settings)
            db_session.commit()
            report.held.append(incident.reference)
            return False
        if len(slots) > 1:
            _record_missed(
                db_session,
                incident,
                slots[:-1],
                now=now,
                settings=settings,
                outcome="one current update was sent instead",
            )
        db_session.commit()
        report.published.append(incident.reference)
        return True


def on_time(settings: Settings) -> timedelta:
    """How late a tick may come round and still send a slot's own update: a tick, and a half."""
    return timedelta(seconds=settings.schedule.tick_seconds * 1.5)


def _too_late_tonight(severity: str, slot: datetime, now: datetime, settings: Settings) -> bool:
    """True when a non-critical update would go out of hours because its slot was missed.

    Only critical incidents are worked out of hours. An update a tick late at the end of the
    day (due 17:59:50, tick at 18:00:05) is not missed: it goes out as the overnight one.
    """
    if severity == "critical" or in_working_hours(now, settings.schedule, settings.web.tz):
        return False
    return now - slot > on_time(settings)


def _slot_filled(
    severity: str, slot: datetime, now: datetime, settings: Settings
) -> datetime | None:
    """The slot this automatic update fills, to plan the next from; None: plan from now.

    Sent within a cadence of its slot, the update keeps the schedule on its slots (11:00,
    12:00 …) however late the tick; a manual send restarts the clock instead.
    """
    every = cadence(settings.schedule, severity)
    return slot if every is not None and now - slot < every else None


def _wait_for_working_hours(
    db_session: Session,
    incident: Incident,
    missed: list[datetime],
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Send nothing at night: write down what was missed and resume with working hours."""
    resume = next_working_start(now, settings.schedule, settings.web.tz)
    incident.next_update_due_at = resume
    _record_missed(
        db_session,
        incident,
        missed,
        now=now,
        settings=settings,
        outcome="so the overnight update was missed; nothing goes out out of hours for a "
        f"{incident.severity} incident, and updates resume at "
        f"{EmailRenderer(settings).localtime(resume)}",
        details={"resumes_at": resume.isoformat()},
    )


def _hold(
    db_session: Session,
    incident: Incident,
    due: datetime,
    problem: str,
    keep_slot: bool,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Say once per slot why the automatic update did not go out.

    A broken template keeps the slot, so the update goes out as soon as it is fixed; so does a
    list that is empty because Zendesk failed, so the update goes out once Zendesk answers.
    With no status text or no contacts there is nothing to send, so the schedule moves on.
    """
    db_session.refresh(incident)
    slot = due.isoformat()
    last = latest(db_session, incident, "automatic_update_held")
    if last is None or last.details.get("slot") != slot:
        record(
            db_session,
            incident,
            actor=SCHEDULER,
            kind="automatic_update_held",
            summary=f"The automatic update due {EmailRenderer(settings).localtime(due)} "
            f"did not go out: {problem}",
            now=now,
            details={"slot": slot, "problem": problem},
        )
    if not keep_slot:
        slot_after = plan_next(now, incident.severity, settings.schedule, settings.web.tz)
        incident.next_update_due_at = slot_after.due_at


def _record_missed(
    db_session: Session,
    incident: Incident,
    missed: list[datetime],
    *,
    now: datetime,
    settings: Settings,
    outcome: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Write on the timeline which slots passed unsent while the scheduler was down."""
    renderer = EmailRenderer(settings)
    shown = [renderer.localtime_short(slot) for slot in missed[:12]]
    more = f" and {len(missed) - len(shown)} more" if len(missed) > len(shown) else ""
    record(
        db_session,
        incident,
        actor=SCHEDULER,
        kind="slots_missed",
        summary=f"The scheduler was not running: {len(missed)} update slot(s) passed unsent "
        f"({', '.join(shown)}{more}); {outcome}",
        now=now,
        details={"missed": [slot.isoformat() for slot in missed], **(details or {})},
    )
