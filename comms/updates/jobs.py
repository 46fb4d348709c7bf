"""Automatic updates: find the incidents whose update is due and publish one for each.

After the scheduler was down, only the current update goes out (once); the slots it missed are
written on the timeline. Every incident is handled in its own transaction, under its row lock,
and re-checked there, so a manual "send now" at the same moment wins and nothing doubles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.incidents.models import Incident, TimelineEvent
from comms.incidents.service import record
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.updates.schedule import plan_next, slots_between
from comms.updates.service import UpdateProblem, lock, publish
from comms.zendesk import Gateway

log = logging.getLogger(__name__)
SCHEDULER = "scheduler"


@dataclass
class DueReport:
    """What one run over the due incidents did, by incident reference."""

    published: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def due_updates(db: Session, settings: Settings, *, now: datetime) -> list[Incident]:
    """Open, unpaused incidents whose next automatic update is due, the most overdue first."""
    query = select(Incident).where(
        Incident.status != "resolved",
        Incident.schedule_paused.is_(False),
        Incident.next_update_due_at <= now,
    )
    return list(db.scalars(query.order_by(Incident.next_update_due_at)))


def run_due(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    gateway: Gateway | None = None,
) -> DueReport:
    """Refresh contacts and publish the due update of every due incident."""
    report = DueReport()
    with session_factory() as db:
        due_ids = [incident.id for incident in due_updates(db, settings, now=clock.now())]
    for incident_id in due_ids:
        if gateway is not None:
            _refresh_contacts(session_factory, settings, incident_id, gateway, clock)
        try:
            _publish_due(session_factory, settings, incident_id, clock, report)
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
    from comms.contacts.service import refresh

    with session_factory() as db:
        incident = db.get_one(Incident, incident_id)
        try:
            refresh(db, gateway, incident, settings, now=clock.now())
            db.commit()
        except Exception:  # refresh handles Zendesk itself; anything else keeps the snapshot
            db.rollback()
            log.exception("refreshing the contacts of %s failed", incident.reference)


def _publish_due(
    session_factory: Callable[[], Session],
    settings: Settings,
    incident_id: int,
    clock: Clock,
    report: DueReport,
) -> None:
    with session_factory() as db:
        incident = db.get_one(Incident, incident_id)
        lock(db, incident)
        db.refresh(incident)
        now, due = clock.now(), incident.next_update_due_at
        if incident.schedule_paused or not incident.is_open or due is None or due > now:
            return  # someone sent manually, paused or resolved meanwhile
        slots = slots_between(due, now, incident.severity, settings.schedule, settings.web.tz)
        try:
            publish(
                db,
                incident,
                message=incident.current_message,
                trigger="schedule",
                by=SCHEDULER,
                now=now,
                settings=settings,
            )
        except (TemplateProblem, UpdateProblem) as problem:
            db.rollback()
            keep_slot = isinstance(problem, TemplateProblem)
            _hold(db, incident, due, str(problem), keep_slot, now=now, settings=settings)
            report.held.append(incident.reference)
            return
        if len(slots) > 1:
            _record_missed(db, incident, slots[:-1], now=now, settings=settings)
        db.commit()
        report.published.append(incident.reference)


def _hold(
    db: Session,
    incident: Incident,
    due: datetime,
    problem: str,
    keep_slot: bool,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Say once per slot why the automatic update did not go out.

    A broken template keeps the slot, so the update goes out as soon as it is fixed; with no
    status text or no contacts there is nothing to send, so the schedule moves on.
    """
    db.refresh(incident)
    slot = due.isoformat()
    last = db.scalar(
        select(TimelineEvent)
        .filter_by(incident_id=incident.id, kind="automatic_update_held")
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
    if last is None or last.details.get("slot") != slot:
        record(
            db,
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
    db.commit()


def _record_missed(
    db: Session, incident: Incident, missed: list[datetime], *, now: datetime, settings: Settings
) -> None:
    renderer = EmailRenderer(settings)
    shown = [renderer.localtime_short(slot) for slot in missed[:12]]
    more = f" and {len(missed) - len(shown)} more" if len(missed) > len(shown) else ""
    record(
        db,
        incident,
        actor=SCHEDULER,
        kind="slots_missed",
        summary=f"The scheduler was not running: {len(missed)} update slot(s) passed unsent "
        f"({', '.join(shown)}{more}); one current update was sent instead",
        now=now,
        details={"missed": [slot.isoformat() for slot in missed]},
    )
