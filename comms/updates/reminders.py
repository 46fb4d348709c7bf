"""Remind the comms manager a few minutes before each automatic update, once per slot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.clock import Clock
from comms.config import Settings
from comms.incidents.models import Incident
from comms.mail.message import build_message, make_message_id
from comms.mail.once import send_once
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.updates.service import latest, recipients

log = logging.getLogger(__name__)


def reminder_message(
    db_session: Session,
    incident: Incident,
    manager: User,
    due_at: datetime,
    *,
    now: datetime,
    settings: Settings,
) -> EmailMessage:
    """The reminder to one comms manager about one slot."""
    renderer = EmailRenderer(settings)
    previous = latest(db_session, incident)
    values = {
        **renderer.defaults(),
        "incident": incident,
        "manager_name": manager.name,
        "due_at": due_at,
        "minutes": max(1, round((due_at - now).total_seconds() / 60)),
        "recipients": len(recipients(db_session, incident, settings)),
        "message": incident.current_message or "(no status text yet)",
        "repeats_previous": previous is not None
        and previous.message.strip() == incident.current_message.strip(),
        "incident_url": f"{settings.web.base_url.rstrip('/')}/incidents/{incident.reference}",
    }
    slot = int(due_at.timestamp())
    return build_message(
        renderer.render("reminder", values),
        to_name=manager.name,
        to_address=manager.email,
        from_address=settings.smtp.from_address,
        reply_to=settings.smtp.reply_to,
        message_id=make_message_id(
            settings.smtp.from_address, f"inc-{incident.id}", "reminder", slot
        ),
        in_reply_to=None,
        references=[],
        incident_reference=incident.reference,
        date=now,
    )


def due_reminders(db_session: Session, settings: Settings, *, now: datetime) -> list[Incident]:
    """Incidents whose automatic update comes within the reminder window, not yet reminded."""
    before = timedelta(minutes=settings.schedule.reminder_minutes_before)
    if before <= timedelta(0):
        return []
    query = select(Incident).where(
        Incident.status != "resolved",
        Incident.schedule_paused.is_(False),
        Incident.comms_manager_id.is_not(None),
        Incident.next_update_due_at > now,
        Incident.next_update_due_at <= now + before,
        or_(
            Incident.reminder_sent_for.is_(None),
            Incident.reminder_sent_for != Incident.next_update_due_at,
        ),
    )
    return list(db_session.scalars(query))


def send_reminders(
    session_factory: Callable[[], Session], settings: Settings, *, clock: Clock
) -> int:
    """Send the reminders that are due; each slot is claimed before sending, so at most once."""
    sent = 0
    with session_factory() as db_session:
        for incident in due_reminders(db_session, settings, now=clock.now()):
            manager = db_session.get(User, incident.comms_manager_id)
            due_at = incident.next_update_due_at
            if manager is None or due_at is None:
                continue
            try:
                message = reminder_message(
                    db_session, incident, manager, due_at, now=clock.now(), settings=settings
                )
            except (TemplateProblem, ValueError) as problem:
                log.error("the reminder for %s cannot be built: %s", incident.reference, problem)
                continue
            claim = (
                update(Incident)
                .where(Incident.id == incident.id, Incident.next_update_due_at == due_at)
                .where(
                    or_(Incident.reminder_sent_for.is_(None), Incident.reminder_sent_for != due_at)
                )
                .values(reminder_sent_for=due_at)
            )
            release = (
                update(Incident).where(Incident.id == incident.id).values(reminder_sent_for=None)
            )
            what = f"the reminder for {incident.reference}"
            if send_once(db_session, settings, message, claim=claim, release=release, what=what):
                sent += 1
    return sent
