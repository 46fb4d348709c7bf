"""The affected organisations and their people, as the screen and the API change them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from comms.actions import committing
from comms.config import Settings
from comms.contacts import service
from comms.incidents.models import Incident


def remove_organization(
    db_session: Session,
    incident: Incident,
    organization_id: int,
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> int:
    """Remove an affected organisation and its people, and commit; LookupError (nothing
    changed) when the incident has no such organisation."""
    with committing(db_session):
        service.remove_organization(
            db_session, incident, organization_id, by=by, now=now, settings=settings
        )
    return organization_id
