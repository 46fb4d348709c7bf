"""After resolution: the review meeting, the draft report's due date, reminders and the invite.

On resolve a review meeting is proposed a week later at the start of working hours, moved
forward to a working day; the draft report is due at the end of working hours three working
days before it; the comms manager owns the report until someone else is chosen. Trivial
incidents get the same proposal, marked optional (the incident process says they need no
review): the owner may skip it, which stops the reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.clock import Clock
from comms.config import WEEKDAYS, Settings
from comms.incidents.models import Incident
from comms.incidents.service import IncidentError
from comms.mail.message import build_message, make_message_id
from comms.mail.once import send_once
from comms.mail.render import EmailRenderer, TemplateProblem, as_local, zone_label
from comms.timeline import record

log = logging.getLogger(__name__)
REVIEW_AFTER = timedelta(days=7)
DRAFT_WORKING_DAYS_BEFORE = 3
REMINDERS = {"draft": "draft_reminder_sent", "review": "review_reminder_sent"}


class FollowupError(IncidentError):
    """The follow-up cannot be changed as asked; the message says why."""


def is_working_day(day: date, settings: Settings) -> bool:
    return WEEKDAYS[day.weekday()] in settings.schedule.working_days


def next_working_day(day: date, settings: Settings) -> date:
    """Return the day itself if it is a working day, else the first working day after it."""
    while settings.schedule.working_days and not is_working_day(day, settings):
        day += timedelta(days=1)
    return day


def working_days_before(day: date, count: int, settings: Settings) -> date:
    """Return the working day `count` working days before `day`."""
    while count > 0 and settings.schedule.working_days:
        day -= timedelta(days=1)
        count -= is_working_day(day, settings)
    return day


def local_moment(day: date, clock_time: time, settings: Settings) -> datetime:
    """The UTC moment of a wall-clock time on a day in the configured zone."""
    return datetime.combine(day, clock_time, tzinfo=settings.web.tz).astimezone(UTC)


def local_day(moment: datetime, settings: Settings) -> date:
    return as_local(moment, settings.web.tz).date()


def describe(moment: datetime, settings: Settings) -> str:
    """Format as "10:00 GMT, Tuesday 10 March 2026" in the configured zone."""
    local = as_local(moment, settings.web.tz)
    label = zone_label(local, settings.web.tz)
    return f"{local:%H:%M} {label}, {local:%A} {local.day} {local:%B %Y}"


def proposed_review_at(resolved_at: datetime, settings: Settings) -> datetime:
    """A week after resolution, at the start of working hours, on a working day."""
    day = next_working_day(local_day(resolved_at, settings) + REVIEW_AFTER, settings)
    return local_moment(day, time(*settings.schedule.working_window[0]), settings)


def draft_due_for(review_at: datetime, settings: Settings) -> datetime:
    """The end of working hours, three working days before the meeting's day."""
    day = working_days_before(local_day(review_at, settings), DRAFT_WORKING_DAYS_BEFORE, settings)
    return local_moment(day, time(*settings.schedule.working_window[1]), settings)


def review_is_optional(incident: Incident) -> bool:
    return incident.severity == "trivial"


def _record_plan(
    db_session: Session,
    incident: Incident,
    *,
    kind: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Put the follow-up plan on the timeline, with the optional-review note for trivial ones."""
    assert incident.review_at is not None and incident.draft_due_at is not None
    owner = db_session.get(User, incident.report_owner_id) if incident.report_owner_id else None
    text = (
        f"review meeting {describe(incident.review_at, settings)}; draft report due by "
        f"{describe(incident.draft_due_at, settings)}; "
        f"report owner {owner.name if owner else 'nobody yet'}."
    )
    if review_is_optional(incident):
        text += " A trivial incident needs no review unless someone asks for one: skip it if so."
    details = {
        "review_at": incident.review_at.isoformat(),
        "draft_due_at": incident.draft_due_at.isoformat(),
        "owner": owner.email if owner else None,
    }
    lead = "Follow-up proposed: " if kind == "review_proposed" else "Follow-up changed: "
    record(db_session, incident, actor=by, kind=kind, summary=lead + text, now=now, details=details)


def on_resolved(
    db_session: Session, incident: Incident, *, now: datetime, settings: Settings
) -> None:
    """Propose the review meeting, the draft's due date and its owner (the comms manager)."""
    if incident.review_at is not None:
        return
    incident.review_at = proposed_review_at(incident.resolved_at or now, settings)
    incident.draft_due_at = draft_due_for(incident.review_at, settings)
    incident.report_owner_id = incident.report_owner_id or incident.comms_manager_id
    incident.draft_reminder_sent = incident.review_reminder_sent = False
    db_session.flush()
    _record_plan(
        db_session, incident, kind="review_proposed", by="system", now=now, settings=settings
    )


def change_review(
    db_session: Session,
    incident: Incident,
    *,
    review_at: datetime,
    owner: User | None,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Move the meeting and/or change the owner; the draft's due date follows the meeting."""
    if incident.is_open:
        raise FollowupError(f"{incident.reference} is not resolved yet: the review comes after.")
    if review_at <= now:
        raise FollowupError("The review meeting must be in the future.")
    if owner is not None and not owner.active:
        raise FollowupError(f"{owner.email} is not an active staff user.")
    new_owner_id = owner.id if owner else None
    if review_at == incident.review_at and new_owner_id == incident.report_owner_id:
        return
    owner_changed = new_owner_id != incident.report_owner_id
    incident.review_at = review_at
    incident.draft_due_at = draft_due_for(review_at, settings)
    incident.report_owner_id = new_owner_id
    # Remind again when a reminder's moment moved into the future, or someone new owns it.
    for which, flag in REMINDERS.items():
        still_sent = getattr(incident, flag) and reminder_at(incident, which, settings) <= now
        setattr(incident, flag, still_sent and not owner_changed)
    db_session.flush()
    _record_plan(db_session, incident, kind="review_changed", by=by, now=now, settings=settings)


def skip_review(
    db_session: Session, incident: Incident, *, by: str, now: datetime, note: str = ""
) -> None:
    """Decide no review is needed (trivial or recurring incidents): no reminders, no invite."""
    if incident.review_at is None:
        return
    incident.review_at = incident.draft_due_at = None
    db_session.flush()
    summary = "No review meeting or report needed." + (f" Note: {note}" if note else "")
    record(db_session, incident, actor=by, kind="review_skipped", summary=summary, now=now)


def reminder_at(incident: Incident, which: str, settings: Settings) -> datetime:
    """When a reminder goes: the draft's due day, or the working day before the meeting."""
    assert incident.review_at is not None and incident.draft_due_at is not None
    if which == "draft":
        day = local_day(incident.draft_due_at, settings)
    else:
        day = working_days_before(local_day(incident.review_at, settings), 1, settings)
    return local_moment(day, time(*settings.schedule.working_window[0]), settings)


def due_followup_reminders(
    db_session: Session, settings: Settings, *, now: datetime
) -> list[tuple[Incident, str]]:
    """(incident, "draft" | "review") pairs whose reminder is due and not yet sent."""
    query = select(Incident).where(
        Incident.status == "resolved",
        Incident.review_at > now,
        Incident.report_owner_id.is_not(None),
        Incident.draft_reminder_sent.is_(False) | Incident.review_reminder_sent.is_(False),
    )
    return [
        (incident, which)
        for incident in db_session.scalars(query.order_by(Incident.id))
        for which, flag in REMINDERS.items()
        if not getattr(incident, flag) and reminder_at(incident, which, settings) <= now
    ]


def send_followup_reminders(
    session_factory: Callable[[], Session], settings: Settings, *, clock: Clock
) -> int:
    """Send the due reminders to report owners; each is claimed first, so it goes at most once."""
    sent = 0
    with session_factory() as db_session:
        for incident, which in due_followup_reminders(db_session, settings, now=clock.now()):
            if _remind(db_session, incident, which, now=clock.now(), settings=settings):
                db_session.commit()  # the timeline's entry for the reminder just sent
                sent += 1
    return sent


def _remind(
    db_session: Session, incident: Incident, which: str, *, now: datetime, settings: Settings
) -> bool:
    """Build, claim and send one reminder, and put it on the timeline once sent."""
    owner = db_session.get(User, incident.report_owner_id or 0)
    if owner is None:
        return False
    try:
        message = reminder_message(incident, which, owner, now=now, settings=settings)
    except (TemplateProblem, ValueError) as problem:
        log.error("%s: the %s reminder cannot be built: %s", incident.reference, which, problem)
        return False
    column = getattr(Incident, REMINDERS[which])
    claim = (
        update(Incident)
        .where(Incident.id == incident.id, column.is_(False))
        .where(Incident.review_at == incident.review_at)
        .values({column: True})
    )
    release = update(Incident).where(Incident.id == incident.id).values({column: False})
    what = f"{incident.reference}: the {which} reminder"
    if not send_once(db_session, settings, message, claim=claim, release=release, what=what):
        return False
    about = "the draft report's due date" if which == "draft" else "the review meeting"
    summary = f"Reminded {owner.email} of {about}."
    record(db_session, incident, actor="system", kind="followup_reminder", summary=summary, now=now)
    return True


def reminder_message(
    incident: Incident, which: str, owner: User, *, now: datetime, settings: Settings
) -> EmailMessage:
    """The reminder to the report owner about the draft or the meeting."""
    renderer = EmailRenderer(settings)
    base = settings.web.base_url.rstrip("/")
    values = {
        **renderer.defaults(),
        "incident": incident,
        "owner_name": owner.name,
        "review_at": incident.review_at,
        "draft_due_at": incident.draft_due_at,
        "optional": review_is_optional(incident),
        "report_url": f"{base}/incidents/{incident.reference}/report",
        "invite_url": f"{base}/incidents/{incident.reference}/review.ics",
    }
    assert incident.review_at is not None
    slot = int(incident.review_at.timestamp())
    return build_message(
        renderer.render(f"followup_{which}", values),
        to_name=owner.name,
        to_address=owner.email,
        from_address=settings.smtp.from_address,
        reply_to=settings.smtp.reply_to,
        message_id=make_message_id(settings.smtp.from_address, f"inc-{incident.id}", which, slot),
        in_reply_to=None,
        references=[],
        incident_reference=incident.reference,
        date=now,
    )
