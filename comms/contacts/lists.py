"""What the contact list is built from: the snapshot, requesters and overrides, put together."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
)
from comms.contacts.rules import Contact, build_contacts, ordered_organizations
from comms.incidents.models import Incident


def affected_organizations(
    db_session: Session, incident: Incident, settings: Settings
) -> list[AffectedOrganization]:
    """Return the incident's affected organisations, priority clients first, then by name."""
    rows = db_session.scalars(
        select(AffectedOrganization).where(AffectedOrganization.incident_id == incident.id)
    )
    return ordered_organizations(rows, settings.contacts)


def built_contacts(db_session: Session, incident: Incident, settings: Settings) -> list[Contact]:
    """Run the rules over what is stored: every contact, those excluded by hand flagged."""
    where = {"incident_id": incident.id}
    return build_contacts(
        organizations=affected_organizations(db_session, incident, settings),
        people=db_session.scalars(select(OrganizationPerson).filter_by(**where)),
        requesters=db_session.scalars(select(Requester).filter_by(**where)),
        overrides=db_session.scalars(select(ContactOverride).filter_by(**where)),
        severity=incident.severity,
        settings=settings.contacts,
    )


def people_counts(db_session: Session, incident: Incident) -> dict[int, int]:
    """Return how many end-users each organisation's snapshot holds, by organisation id."""
    query = (
        select(OrganizationPerson.organization_id, func.count())
        .where(OrganizationPerson.incident_id == incident.id)
        .group_by(OrganizationPerson.organization_id)
    )
    return {int(org_id): count for org_id, count in db_session.execute(query).all()}
