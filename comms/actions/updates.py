"""The client updates' schedule: pausing and resuming it, from the screen, the API or Slack."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from comms.actions import committing
from comms.config import Settings
from comms.incidents.models import Incident
from comms.updates.control import set_paused


def pause_or_resume(
    db_session: Session,
    incident: Incident,
    *,
    paused: bool,
    reason: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> Incident:
    """Pause (a reason is needed) or resume the automatic updates, and commit; UpdateProblem
    (nothing changed) when it cannot be done."""
    with committing(db_session):
        set_paused(
            db_session, incident, paused=paused, reason=reason, by=by, now=now, settings=settings
        )
    return incident
