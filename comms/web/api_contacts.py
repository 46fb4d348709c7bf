"""The JSON API for an incident's affected organisations and contacts."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Response, request, stream_with_context

from comms.actions import contacts as contact_actions
from comms.actions import operations as operation_actions
from comms.contacts import service
from comms.contacts.models import AffectedOrganization
from comms.contacts.rules import Contact, how_added, is_priority
from comms.contacts.stored import ContactPage
from comms.incidents.models import Incident
from comms.web.api import ApiError, bp, is_id, json_body
from comms.web.api_operations import accepted
from comms.web.context import acting, actor, db, gateway, load_incident, now, settings
from comms.web.paging import api_page, paged, paging
from comms.zendesk import ZendeskError

BASE = "/incidents/<ref>"


def _incident(ref: str, *, change: bool = False) -> Incident:
    """Find the incident (404 JSON); to change its contacts, it must still be open."""
    incident = load_incident(ref)
    if change and not incident.is_open:
        raise ApiError(
            409, "resolved", f"{incident.reference} is resolved: its contacts no longer change."
        )
    return incident


def _unavailable(error: ZendeskError) -> ApiError:
    return ApiError(502, "zendesk_unavailable", str(error))


def contact_json(contact: Contact) -> dict[str, Any]:
    """One contact as JSON."""
    return {
        "email": contact.email,
        "name": contact.name,
        "organizations": list(contact.organizations),
        "reasons": list(contact.reasons),
        "senior": contact.senior,
        "priority": contact.priority,
        "excluded": contact.excluded,
    }


def _organization_json(org: AffectedOrganization, people: dict[int, int]) -> dict[str, Any]:
    read = org.people_read_at
    return {
        "id": org.organization_id,
        "name": org.name,
        "tags": list(org.tags or ()),
        "priority": is_priority(org, settings().contacts),
        "added": how_added(org),
        "added_how": org.added_how,
        "added_by": org.added_by,
        "added_at": org.added_at.isoformat(),
        "people": people.get(org.organization_id, 0) if read else None,
        "people_read_at": read.isoformat() if read else None,
    }


def _organizations(incident: Incident, orgs: list[AffectedOrganization]) -> list[dict[str, Any]]:
    people = service.people_counts(db(), incident, [org.organization_id for org in orgs])
    return [_organization_json(org, people) for org in orgs]


def _contacts_json(incident: Incident, page: ContactPage, size: int) -> dict[str, Any]:
    """One page of the list, with the cursor of the next (Zendesk's `meta` and `links`)."""
    refreshed = incident.contacts_refreshed_at
    return {
        "incident": incident.reference,
        "count": incident.contact_count,
        "refreshed_at": refreshed.isoformat() if refreshed else None,
        "refresh_error": incident.contacts_refresh_error or None,
        **paged("contacts", [contact_json(c) for c in page.contacts], page.after, size),
    }


def _first_page(incident: Incident, *, excluded: bool = False) -> dict[str, Any]:
    size, after = paging()
    page = service.contact_page(db(), incident, size=size, after=after, excluded=excluded)
    return _contacts_json(incident, page, size)


@bp.get(f"{BASE}/organizations")
def list_organizations(ref: str):
    """List the affected organisations, priority clients first, a page at a time."""
    incident = _incident(ref)
    page, size = api_page(partial(service.organizations_page, db(), incident))
    return paged("organizations", _organizations(incident, page.rows), page.after, size)


@bp.post(f"{BASE}/organizations")
def add_organizations(ref: str):
    """Add organisations by id (`organization_ids`) or every one with a tag (`tag`)."""
    incident = _incident(ref, change=True)
    body = json_body()
    ids, tag = body.get("organization_ids"), body.get("tag")
    kwargs: dict[str, Any] = {"by": actor(), "now": now(), "settings": settings()}
    try:
        if isinstance(tag, str) and tag.strip() and ids is None:
            added = service.add_organizations_by_tag(db(), gateway(), incident, tag, **kwargs)
        elif isinstance(ids, list) and ids and all(is_id(i) for i in ids) and not tag:
            added = service.add_organizations_by_id(
                db(), gateway(), incident, ids, how="by id", **kwargs
            )
        else:
            raise ApiError(
                400,
                "bad_request",
                'Send {"organization_ids": [id, ...]} or {"tag": "..."}, not both.',
            )
    except ZendeskError as error:
        raise _unavailable(error) from error
    except LookupError as error:
        raise ApiError(422, "unknown_organization", str(error)) from error
    db().commit()
    orgs = service.affected_organizations(db(), incident, settings())
    return {
        "added": _organizations(incident, added),
        "organizations": _organizations(incident, orgs),
    }, 201 if added else 200


@bp.delete(f"{BASE}/organizations/<int:organization_id>")
def remove_organization(ref: str, organization_id: int):
    """Remove an affected organisation and its people."""
    incident = _incident(ref, change=True)
    try:
        contact_actions.remove_organization(db(), incident, organization_id, **acting())
    except LookupError as error:
        raise ApiError(404, "not_found", str(error)) from error
    return {"removed": organization_id}


@bp.get(f"{BASE}/contacts")
def list_contacts(ref: str):
    """List who receives the next update (`?format=csv` for CSV, `?excluded=1` to add those)."""
    incident = _incident(ref)
    if request.args.get("format") == "csv":
        rows = service.iter_contacts(db(), incident, excluded=False)
        disposition = f'attachment; filename="{incident.reference}-contacts.csv"'
        return Response(
            stream_with_context(service.csv_lines(rows)),
            mimetype="text/csv",
            headers={"Content-Disposition": disposition},
        )
    return _first_page(incident, excluded=request.args.get("excluded") in ("1", "true"))


@bp.post(f"{BASE}/contacts/refresh")
def refresh_contacts(ref: str):
    """Record a refresh from Zendesk (or join the one under way); 202 with the operation."""
    incident = _incident(ref)
    return accepted(operation_actions.start_refresh(db(), incident, by=actor(), now=now()))


@bp.post(f"{BASE}/contacts")
def add_contact(ref: str):
    """Add an address by hand: {"email", "name"}."""
    incident = _incident(ref, change=True)
    body = json_body()
    email, name = body.get("email"), body.get("name") or ""
    if not isinstance(email, str) or not isinstance(name, str):
        raise ApiError(400, "bad_request", 'Send {"email": "...", "name": "..."}.')
    try:
        service.add_contact(
            db(), incident, email=email, name=name, by=actor(), now=now(), settings=settings()
        )
    except ValueError as error:
        raise ApiError(400, "invalid_email", str(error)) from error
    db().commit()
    return _one(incident, email), 201


@bp.delete(f"{BASE}/contacts/<path:email>")
def exclude_contact(ref: str, email: str):
    """Exclude an address from the list (it stays excluded until included again)."""
    incident = _incident(ref, change=True)
    try:
        service.exclude_contact(
            db(), incident, email=email, by=actor(), now=now(), settings=settings()
        )
    except ValueError as error:
        raise ApiError(400, "invalid_email", str(error)) from error
    db().commit()
    return {"email": email.strip(), "excluded": True}


@bp.post(f"{BASE}/contacts/<path:email>/include")
def include_contact(ref: str, email: str):
    """Put an excluded address back on the list."""
    incident = _incident(ref, change=True)
    try:
        service.include_contact(
            db(), incident, email=email, by=actor(), now=now(), settings=settings()
        )
    except ValueError as error:
        raise ApiError(400, "invalid_email", str(error)) from error
    db().commit()
    return {"email": email.strip(), "excluded": False}


def _one(incident: Incident, email: str) -> dict[str, Any]:
    """Answer the contact as it now stands on the list."""
    found = service.find_contact(db(), incident, email)
    assert found is not None  # just added, so on the list
    return contact_json(found)
