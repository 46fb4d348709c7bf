"""What the contact list is built from: the snapshot, requesters and overrides, put together."""

from __future__ import annotations

from collections.abc import Sequence

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
from comms.db import Page, keyset_page
from comms.incidents.models import Candidate, Incident


def affected_organizations(
    db_session: Session, incident: Incident, settings: Settings
) -> list[AffectedOrganization]:
    """Return the incident's affected organisations, priority clients first, then by name."""
    rows = db_session.scalars(
        select(AffectedOrganization).where(AffectedOrganization.incident_id == incident.id)
    )
    return ordered_organizations(rows, settings.contacts)


def organizations_page(
    db_session: Session, incident: Incident, *, size: int, after: int | None = None
) -> Page[AffectedOrganization]:
    """One page of the affected organisations, priority clients first, then by name.

    In the expressions of `ix_affected_organizations_incident_order` (false sorts first)."""
    not_priority = AffectedOrganization.priority.is_(False)
    return keyset_page(
        db_session,
        select(AffectedOrganization).where(AffectedOrganization.incident_id == incident.id),
        (not_priority, func.lower(AffectedOrganization.name), AffectedOrganization.organization_id),
        id_column=AffectedOrganization.id,
        size=size,
        after=after,
    )


def count_organizations(db_session: Session, incident: Incident) -> int:
    """How many organisations are affected, as `stored.rebuild` last counted them."""
    return incident.organization_count


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


def people_counts(
    db_session: Session, incident: Incident, organization_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Return how many end-users each organisation's snapshot holds (of these, or all)."""
    where = [OrganizationPerson.incident_id == incident.id]
    if organization_ids is not None:
        where.append(OrganizationPerson.organization_id.in_(organization_ids))
    query = (
        select(OrganizationPerson.organization_id, func.count())
        .where(*where)
        .group_by(OrganizationPerson.organization_id)
    )
    return {int(org_id): count for org_id, count in db_session.execute(query).all()}


def known_names(
    db_session: Session,
    incident: Incident,
    *,
    organization_ids: Sequence[int | None],
    user_ids: Sequence[int | None],
) -> tuple[dict[int, str], dict[int, str]]:
    """The names the incident knows for these organisations and people (read from Zendesk
    with its affected organisations and requesters): two maps, id → name."""
    orgs = {i for i in organization_ids if i is not None}
    users = {i for i in user_ids if i is not None}
    org_names: dict[int, str] = {}
    people: dict[int, str] = {}
    if orgs:
        found = select(AffectedOrganization.organization_id, AffectedOrganization.name).where(
            AffectedOrganization.incident_id == incident.id,
            AffectedOrganization.organization_id.in_(orgs),
        )
        org_names = {org_id: name for org_id, name in db_session.execute(found)}
    if users:
        for model in (OrganizationPerson, Requester):
            found_people = select(model.user_id, model.name, model.email).where(
                model.incident_id == incident.id, model.user_id.in_(users)
            )
            for user_id, name, email in db_session.execute(found_people):
                if user_id is not None:
                    people.setdefault(user_id, name or email)
    _names_found_with_candidates(
        db_session, incident, orgs - set(org_names), users - set(people), org_names, people
    )
    return org_names, people


def _names_found_with_candidates(
    db_session: Session,
    incident: Incident,
    orgs: set[int],
    users: set[int],
    org_names: dict[int, str],
    people: dict[int, str],
) -> None:
    """Fill in the names stored with the incident's candidates when they were found."""
    for ids, id_column, name_column, names in (
        (orgs, Candidate.organization_id, Candidate.organization_name, org_names),
        (users, Candidate.requester_id, Candidate.requester_name, people),
    ):
        if ids:
            found = select(id_column, name_column).where(
                Candidate.incident_id == incident.id, id_column.in_(ids), name_column != ""
            )
            for found_id, name in db_session.execute(found):
                if found_id is not None and name:
                    names.setdefault(found_id, name)
