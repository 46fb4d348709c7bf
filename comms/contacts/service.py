"""Affected organisations, requesters and manual changes; the contact list built from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.export import csv_lines, to_csv
from comms.contacts.lists import (
    affected_organizations,
    count_organizations,
    known_names,
    organizations_page,
    people_counts,
)
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
)
from comms.contacts.refresh import RefreshResult, refresh
from comms.contacts.rules import (
    CONTROL,
    Contact,
    is_priority,
    normalize_email,
    ordered_organizations,
)
from comms.contacts.stored import (
    ContactPage,
    contact_list,
    contact_page,
    contact_rows,
    excluded_count,
    find_contact,
    iter_contacts,
    rebuild,
)
from comms.incidents.models import Incident, LinkedTicket
from comms.timeline import record
from comms.zendesk import Gateway, Organization

__all__ = [
    "Contact",
    "ContactPage",
    "RefreshResult",
    "add_contact",
    "add_from_tickets",
    "add_organizations",
    "add_organizations_by_id",
    "add_organizations_by_tag",
    "add_requester",
    "affected_organizations",
    "contact_list",
    "contact_page",
    "contact_rows",
    "count_organizations",
    "csv_lines",
    "excluded_count",
    "find_contact",
    "exclude_contact",
    "include_contact",
    "known_names",
    "iter_contacts",
    "organizations_page",
    "people_counts",
    "rebuild",
    "refresh",
    "remove_organization",
    "to_csv",
]


def add_organizations(
    db_session: Session,
    incident: Incident,
    orgs: Sequence[Organization],
    *,
    how: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> list[AffectedOrganization]:
    """Add organisations to the affected ones, skipping those already there; return the new."""
    added = _add_organizations(
        db_session, incident, orgs, how=how, by=by, now=now, settings=settings
    )
    if added:
        rebuild(db_session, incident, settings)
    return added


def _add_organizations(
    db_session: Session,
    incident: Incident,
    orgs: Sequence[Organization],
    *,
    how: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> list[AffectedOrganization]:
    """Add the organisations not there yet, leaving the list to be rebuilt by the caller."""
    present = {o.organization_id for o in affected_organizations(db_session, incident, settings)}
    added: list[AffectedOrganization] = []
    for org in orgs:
        if org.id in present:
            continue
        present.add(org.id)
        row = AffectedOrganization(
            incident_id=incident.id,
            organization_id=org.id,
            name=org.name,
            tags=list(org.tags),
            added_how=how,
            added_by=by,
            added_at=now,
        )
        row.priority = is_priority(row, settings.contacts)
        db_session.add(row)
        added.append(row)
    db_session.flush()
    if added:
        names = ", ".join(o.name for o in added[:10]) + (" …" if len(added) > 10 else "")
        record(
            db_session,
            incident,
            actor=by,
            kind="organizations_added",
            summary=f"Added {_count(len(added), 'affected organisation')} ({how}): {names}",
            now=now,
            details={"how": how, "organization_ids": [o.organization_id for o in added]},
        )
    return ordered_organizations(added, settings.contacts)


def add_from_tickets(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    tickets: Sequence[LinkedTicket],
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Linking brings each ticket's organisation and requester into the contacts."""
    if incident.add_orgs_on_link:
        org_ids = sorted({t.organization_id for t in tickets if t.organization_id})
        known = {org.id: org for org in gateway.organizations(org_ids)} if org_ids else {}
        for ticket in tickets:
            org = known.get(ticket.organization_id or 0)
            if org is not None:
                _add_organizations(
                    db_session,
                    incident,
                    [org],
                    how=f"ticket {ticket.ticket_id}",
                    by=by,
                    now=now,
                    settings=settings,
                )
    if incident.add_requesters_on_link:
        for ticket in tickets:
            if ticket.requester_id:
                _add_requester(
                    db_session, incident, ticket_id=ticket.ticket_id, user_id=ticket.requester_id
                )
    rebuild(db_session, incident, settings)


def add_organizations_by_tag(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    tag: str,
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> list[AffectedOrganization]:
    """Add every Zendesk organisation carrying the tag (ZendeskError if Zendesk cannot say)."""
    tag = tag.strip()
    if not tag:
        raise ValueError("Give an organisation tag.")
    orgs = gateway.organizations_by_tag(tag)
    return add_organizations(
        db_session, incident, orgs, how=f"tag {tag}", by=by, now=now, settings=settings
    )


def add_organizations_by_id(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    organization_ids: Sequence[int],
    *,
    how: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> list[AffectedOrganization]:
    """Add organisations chosen by id; LookupError, and nothing added, if one is unknown."""
    wanted = list(dict.fromkeys(int(i) for i in organization_ids))
    if not wanted:
        raise ValueError("Choose at least one organisation.")
    found = gateway.organizations(wanted)
    unknown = sorted(set(wanted) - {o.id for o in found})
    if unknown:
        raise LookupError(f"Zendesk has no organisation {', '.join(map(str, unknown))}.")
    return add_organizations(
        db_session, incident, found, how=how, by=by, now=now, settings=settings
    )


def remove_organization(
    db_session: Session,
    incident: Incident,
    organization_id: int,
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Remove an affected organisation and its people (LookupError if it is not affected)."""
    row = db_session.scalar(
        select(AffectedOrganization).filter_by(
            incident_id=incident.id, organization_id=organization_id
        )
    )
    if row is None:
        raise LookupError(
            f"Organisation {organization_id} is not affected by {incident.reference}."
        )
    db_session.execute(
        delete(OrganizationPerson).filter_by(
            incident_id=incident.id, organization_id=organization_id
        )
    )
    db_session.delete(row)
    db_session.flush()
    rebuild(db_session, incident, settings)
    record(
        db_session,
        incident,
        actor=by,
        kind="organization_removed",
        summary=f"Removed affected organisation {row.name}",
        now=now,
        details={"organization_id": organization_id},
    )


def add_requester(
    db_session: Session,
    incident: Incident,
    *,
    ticket_id: int,
    user_id: int | None,
    settings: Settings,
    name: str = "",
    email: str = "",
) -> None:
    """Make a linked ticket's requester a contact; a refresh fills a missing name or e-mail."""
    _add_requester(
        db_session, incident, ticket_id=ticket_id, user_id=user_id, name=name, email=email
    )
    rebuild(db_session, incident, settings)


def _add_requester(
    db_session: Session,
    incident: Incident,
    *,
    ticket_id: int,
    user_id: int | None,
    name: str = "",
    email: str = "",
) -> None:
    row = db_session.scalar(
        select(Requester).filter_by(incident_id=incident.id, ticket_id=ticket_id)
    )
    if row is None:
        row = Requester(incident_id=incident.id, ticket_id=ticket_id, name="", email="")
        db_session.add(row)
    row.user_id = user_id if user_id is not None else row.user_id
    row.name = (name or "").strip() or row.name or ""
    row.email = (email or "").strip() or row.email or ""
    db_session.flush()


def add_contact(
    db_session: Session,
    incident: Incident,
    *,
    email: str,
    name: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Add an address by hand (ValueError with the reason if it is not an e-mail address)."""
    address = normalize_email(email)
    name = (name or "").strip()
    if CONTROL.search(name):
        raise ValueError("The name cannot hold line breaks or other control characters.")
    if len(name) > 255:
        raise ValueError("The name must have at most 255 characters.")
    _override(db_session, incident, address, name, "add", by, now)
    rebuild(db_session, incident, settings)
    label = f"{name} <{address}>" if name else address
    record(
        db_session,
        incident,
        actor=by,
        kind="contact_added",
        summary=f"Added {label} to the contacts by hand",
        now=now,
        details={"email": address, "name": name},
    )


def exclude_contact(
    db_session: Session,
    incident: Incident,
    *,
    email: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Keep an address off the list until it is included again."""
    address = normalize_email(email)
    if _is_excluded(db_session, incident, address):
        return
    _override(db_session, incident, address, "", "exclude", by, now)
    rebuild(db_session, incident, settings)
    record(
        db_session,
        incident,
        actor=by,
        kind="contact_excluded",
        summary=f"Excluded {address} from the contacts",
        now=now,
        details={"email": address},
    )


def include_contact(
    db_session: Session,
    incident: Incident,
    *,
    email: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Undo an exclusion (nothing happens if the address is not excluded)."""
    address = normalize_email(email)
    if not _is_excluded(db_session, incident, address):
        return
    _override(db_session, incident, address, "", "include", by, now)
    rebuild(db_session, incident, settings)
    record(
        db_session,
        incident,
        actor=by,
        kind="contact_included",
        summary=f"Included {address} in the contacts again",
        now=now,
        details={"email": address},
    )


def _is_excluded(db_session: Session, incident: Incident, address: str) -> bool:
    """Tell whether the latest override of the address excludes it."""
    latest = db_session.scalar(
        select(ContactOverride)
        .where(
            ContactOverride.incident_id == incident.id,
            func.lower(ContactOverride.email) == address.lower(),
        )
        .order_by(ContactOverride.at.desc(), ContactOverride.id.desc())
        .limit(1)
    )
    return latest is not None and latest.action == "exclude"


def _override(
    db_session: Session,
    incident: Incident,
    address: str,
    name: str,
    action: str,
    by: str,
    now: datetime,
) -> None:
    db_session.add(
        ContactOverride(
            incident_id=incident.id, email=address, name=name, action=action, by=by, at=now
        )
    )
    db_session.flush()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
