"""Take up an incident declared in incident.io that comms listed instead of following."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from comms.actions import committing
from comms.auth.models import User
from comms.config import Settings
from comms.incident_io import service
from comms.incident_io.gateway import IncidentIoError, IncidentIoGateway
from comms.incidents.models import Incident


class TakeUpProblem(Exception):
    """The incident cannot be taken up; the message says why."""


def take_up(
    db_session: Session, *, external_id: str, by: User, now: datetime, settings: Settings
) -> Incident:
    """Declare the comms incident from incident.io's current state, with `by` as its manager."""
    row = service.by_external_id(db_session, external_id)
    if row is None:
        raise TakeUpProblem("comms knows no such incident in incident.io.")
    if row.incident_id is not None:
        raise TakeUpProblem(f"{row.reference} is already taken up.")
    try:
        with IncidentIoGateway(settings.incident_io) as gateway:
            remote = gateway.incident(external_id)
    except IncidentIoError as error:
        raise TakeUpProblem(
            f"incident.io could not be asked about {row.reference}: {error}"
        ) from None
    with committing(db_session):
        return service.take_up(
            db_session, row, remote, settings=settings, now=now, by=by.email, comms_manager=by
        )
