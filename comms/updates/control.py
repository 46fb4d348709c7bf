"""Pause and resume the automatic updates, and re-plan them when the severity changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.config import Settings
from comms.incidents.models import Incident, TimelineEvent
from comms.mail.render import EmailRenderer
from comms.timeline import record
from comms.updates.schedule import plan_next
from comms.updates.service import UpdateProblem, latest
from comms.updates.state import ScheduleFacts, describe


def set_paused(
    db_session: Session,
    incident: Incident,
    *,
    paused: bool,
    reason: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Stop or restart the automatic updates, saying why on the timeline."""
    reason = (reason or "").strip()
    if not incident.is_open:
        raise UpdateProblem(f"{incident.reference} is resolved: it has no schedule to change.")
    if paused and not reason:
        raise UpdateProblem("Say why the updates are paused: clients will not hear from us.")
    if paused == incident.schedule_paused:
        return
    incident.schedule_paused = paused
    incident.pause_reason = reason if paused else ""
    if paused:
        summary = f"Paused the automatic updates: {reason}"
    else:
        due = incident.next_update_due_at
        if due is not None and due <= now:
            # The slots passed while paused are not missed: start a fresh cadence from now.
            due = plan_next(now, incident.severity, settings.schedule, settings.web.tz).due_at
            incident.next_update_due_at = due
        after = f"; next update {EmailRenderer(settings).localtime(due)}" if due else ""
        summary = "Resumed the automatic updates" + (f": {reason}" if reason else "") + after
    db_session.flush()
    record(
        db_session,
        incident,
        actor=by,
        kind="schedule_paused" if paused else "schedule_resumed",
        summary=summary,
        now=now,
        details={"reason": reason, "next_update_due_at": _iso(incident.next_update_due_at)},
    )


def reschedule(
    db_session: Session, incident: Incident, *, now: datetime, settings: Settings
) -> None:
    """Re-plan the next automatic update from the last one after a severity change."""
    last = latest(db_session, incident)
    if not incident.is_open or last is None:
        return
    due = plan_next(last.created_at, incident.severity, settings.schedule, settings.web.tz).due_at
    incident.next_update_due_at = max(due, now) if due else None
    db_session.flush()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def schedule_facts(db_session: Session, incidents: list[Incident]) -> dict[int, ScheduleFacts]:
    """Each incident's schedule, and who paused the paused ones and when (one query for all)."""
    paused_ids = [i.id for i in incidents if i.schedule_paused and i.is_open]
    pauses: dict[int, tuple[str, datetime | None]] = {}
    if paused_ids:
        last = (
            select(func.max(TimelineEvent.id))
            .where(TimelineEvent.incident_id.in_(paused_ids))
            .where(TimelineEvent.kind == "schedule_paused")
            .group_by(TimelineEvent.incident_id)
        )
        query = (
            select(TimelineEvent.incident_id, TimelineEvent.actor, TimelineEvent.at, User.name)
            .outerjoin(User, User.email == TimelineEvent.actor)
            .where(TimelineEvent.id.in_(last))
        )
        for incident_id, actor, at, name in db_session.execute(query):
            pauses[incident_id] = (name or actor, at)
    facts = {}
    for i in incidents:
        paused_by, paused_at = pauses.get(i.id, ("", None))
        facts[i.id] = ScheduleFacts(
            i.is_open, i.severity, i.next_update_due_at, i.schedule_paused, paused_by, paused_at
        )
    return facts


def schedule_states(
    db_session: Session, incidents: list[Incident], *, now: datetime, settings: Settings
) -> dict[int, str]:
    """The state of each incident's client updates in words, by incident id."""
    facts = schedule_facts(db_session, incidents)
    schedule, zone = settings.schedule, settings.web.tz
    return {i: describe(f, now=now, schedule=schedule, zone=zone) for i, f in facts.items()}
