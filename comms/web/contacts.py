"""The incident page's contacts section and its actions."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from comms.actions import contacts as contact_actions
from comms.actions import operations as operation_actions
from comms.contacts import service
from comms.contacts.rules import how_added, is_priority, seniors_included
from comms.ids import parse_id
from comms.incidents.models import Incident
from comms.operations import queue
from comms.operations.models import Operation
from comms.web.context import acting, actor, db, gateway, load_incident, now, settings, wake_worker
from comms.web.paging import page_after, section_page
from comms.zendesk import ZendeskError

bp = Blueprint("contacts", __name__, url_prefix="/incidents/<ref>/contacts")
# How long a refresh may take before the page is shown and polls for the rest.
WAIT_SECONDS = 3.0
KEPT_FIELDS = ("org_q", "tag", "email", "name")
# A page of thousands of rows helps nobody at 2am: list this many a page, filter or download.
PAGE_ROWS = 100
# Organisations a page: as many at 1,000 contacts (50 organisations) as at 20,000, so the page
# costs the same whatever the size of the outage (each row carries its own forms).
ORG_ROWS = 50


def panel(incident: Incident) -> dict[str, Any]:
    """What the incident page needs to show the contacts section: one page of the list."""
    cfg = settings()
    query = request.args.get("contacts_q", "")
    after = page_after(request.args.get("contacts_after"))
    page = service.contact_page(db(), incident, size=PAGE_ROWS, after=after, query=query)
    excluded = service.excluded_count(db(), incident)
    orgs = section_page(partial(service.organizations_page, db(), incident), "orgs", ORG_ROWS)
    people = service.people_counts(db(), incident, [o.organization_id for o in orgs.rows])
    job = queue.active(db(), kind="refresh", incident_id=incident.id)
    return {
        "contacts_shown": page.contacts,
        "contacts_first": page.first,
        "contacts_matching": page.matching,
        "contacts_matching_more": page.more_matching,
        "contacts_next": page.after,
        "contacts_q": query,
        "contacts_orgs": [
            {
                "org": org,
                "how": how_added(org),
                "priority": is_priority(org, cfg.contacts),
                "contacts": org.contacts,
                "people": people.get(org.organization_id, 0),
            }
            for org in orgs.rows
        ],
        "contacts_orgs_next": orgs.after,
        "contacts_orgs_count": service.count_organizations(db(), incident),
        "contacts_total": incident.contact_count + excluded,
        "contacts_excluded": excluded,
        "contacts_included": incident.contact_count,
        "contacts_seniors_included": seniors_included(incident.severity, cfg.contacts),
        "contacts_config": cfg.contacts,
        "contacts_job": refresh_json(job) if job else None,
        "contacts_form": {key: request.args.get(key, "") for key in KEPT_FIELDS},
    }


def _incident(ref: str, *, change: bool = False) -> Incident:
    """Find the incident (404); to change it, it must still be open."""
    incident = load_incident(ref)
    if change and not incident.is_open:
        flash(f"{incident.reference} is resolved: its contacts no longer change.", "error")
        abort(_back(incident))
    return incident


def _back(incident: Incident, **kept: str) -> WerkzeugResponse:
    """Go back to the incident page's contacts section, keeping what the user typed."""
    values: dict[str, Any] = {key: value for key, value in kept.items() if value}
    return redirect(url_for("incidents.contacts_section", ref=incident.reference, **values))


def refresh_json(operation: Operation) -> dict[str, Any]:
    """A refresh as the page polls it, the same from every web worker."""
    finished = not operation.active
    result = operation.result
    return {
        "running": not finished,
        "done": operation.done,
        "total": operation.total,
        "ok": (operation.state == "done") if finished else None,
        "error": operation.error,
        "contacts": result.get("contacts") if finished else None,
        "note": "" if finished else operation.note,
    }


def _start_refresh(incident: Incident) -> Operation:
    """Record a refresh for a worker, or join the one under way."""
    operation = operation_actions.start_refresh(db(), incident, by=actor(), now=now())
    wake_worker()
    return operation


def _wait(operation: Operation, seconds: float) -> Operation:
    """Give a short refresh the chance to finish before the page is shown."""
    deadline = time.monotonic() + seconds
    while operation.active and time.monotonic() < deadline:
        time.sleep(0.1)
        operation = queue.get(db(), operation.id) or operation
        db().commit()  # end the read, so the next one sees what the worker committed
    return operation


def _flash_result(operation: Operation) -> None:
    result = operation.result
    if operation.active:
        flash(
            f"Reading the contacts from Zendesk: {operation.done} of {operation.total} "
            "organisations…"
        )
    elif operation.state == "done":
        missing = result.get("missing") or []
        gone = (
            f" No longer in Zendesk: {', '.join(missing)}; their people from the last "
            "list are kept until you remove the organisation."
            if missing
            else ""
        )
        flash(
            f"Contacts refreshed: {result.get('contacts')} contacts from "
            f"{result.get('organizations')} organisations.{gone}",
            "success",
        )
    else:
        flash(
            f"The contacts were not refreshed (the last list is kept): {operation.error}", "error"
        )


@bp.get("/organizations/search")
def search_organizations(ref: str):
    """Find Zendesk organisations by the start of their name (for search-as-you-type)."""
    incident = _incident(ref)
    try:
        found = gateway().search_organizations(request.args.get("q", ""))
    except ZendeskError as error:
        return jsonify(error="zendesk_unavailable", message=str(error)), 502
    affected = {
        o.organization_id for o in service.affected_organizations(db(), incident, settings())
    }
    priority_tags = set(settings().contacts.priority_org_tags)
    return jsonify(
        organizations=[
            {
                "id": o.id,
                "name": o.name,
                "tags": list(o.tags),
                "priority": bool(priority_tags & set(o.tags)),
                "affected": o.id in affected,
            }
            for o in found
        ]
    )


@bp.post("/organizations")
def add_organization(ref: str):
    """Add an organisation chosen in the name search, then read its people."""
    incident = _incident(ref, change=True)
    organization_id = parse_id(request.form.get("organization_id", ""))
    if organization_id is None:
        flash("Choose an organisation from the search results.", "error")
        return _back(incident, org_q=request.form.get("org_q", ""))
    try:
        added = service.add_organizations_by_id(
            db(),
            gateway(),
            incident,
            [organization_id],
            how="by name",
            by=actor(),
            now=now(),
            settings=settings(),
        )
    except (ZendeskError, LookupError) as error:
        flash(str(error), "error")
        return _back(incident, org_q=request.form.get("org_q", ""))
    db().commit()
    return _added(incident, added)


@bp.post("/organizations/tag")
def add_by_tag(ref: str):
    """Add every organisation carrying a tag, then read their people."""
    incident = _incident(ref, change=True)
    tag = request.form.get("tag", "").strip()
    try:
        added = service.add_organizations_by_tag(
            db(), gateway(), incident, tag, by=actor(), now=now(), settings=settings()
        )
    except (ZendeskError, ValueError) as error:
        flash(str(error), "error")
        return _back(incident, tag=tag)
    db().commit()
    if not added:
        flash(f"No organisation with the tag “{tag}” that is not already affected.", "error")
        return _back(incident, tag=tag)
    return _added(incident, added)


def _added(incident: Incident, added: list) -> WerkzeugResponse:
    names = ", ".join(o.name for o in added[:5]) + (" …" if len(added) > 5 else "")
    flash(f"Added {len(added)} affected organisation(s): {names}. Reading their people…", "success")
    _start_refresh(incident)
    return _back(incident)


@bp.post("/organizations/<int:organization_id>/remove")
def remove_organization(ref: str, organization_id: int):
    """Remove an affected organisation and its people from the list."""
    incident = _incident(ref, change=True)
    try:
        contact_actions.remove_organization(db(), incident, organization_id, **acting())
    except LookupError as error:
        flash(str(error), "error")
        return _back(incident)
    flash("Organisation removed from the affected ones.", "success")
    return _back(incident)


@bp.post("/refresh")
def refresh(ref: str):
    """Re-read the contacts from Zendesk; long refreshes carry on in the background."""
    incident = _incident(ref)
    operation = _wait(_start_refresh(incident), WAIT_SECONDS)
    _flash_result(operation)
    return _back(incident)


@bp.get("/refresh")
def refresh_progress(ref: str):
    """Tell the page how far the background refresh has got."""
    incident = _incident(ref)
    operation = queue.latest(db(), kind="refresh", incident_id=incident.id)
    return jsonify(refresh_json(operation) if operation else {"running": False})


@bp.post("/add")
def add_contact(ref: str):
    """Add an address by hand."""
    incident = _incident(ref, change=True)
    email, name = request.form.get("email", ""), request.form.get("name", "")
    try:
        service.add_contact(
            db(), incident, email=email, name=name, by=actor(), now=now(), settings=settings()
        )
    except ValueError as error:
        flash(str(error), "error")
        return _back(incident, email=email, name=name)
    db().commit()
    flash(f"Added {email.strip()} to the contacts.", "success")
    return _back(incident)


@bp.post("/exclude")
def exclude(ref: str):
    """Keep an address off the list until it is included again."""
    return _override(ref, service.exclude_contact, "Excluded {} from the contacts.")


@bp.post("/include")
def include(ref: str):
    """Put an excluded address back on the list."""
    return _override(ref, service.include_contact, "Included {} again.")


def _override(ref: str, action: Any, message: str) -> WerkzeugResponse:
    incident = _incident(ref, change=True)
    email = request.form.get("email", "")
    try:
        action(db(), incident, email=email, by=actor(), now=now(), settings=settings())
    except ValueError as error:
        flash(str(error), "error")
        return _back(incident)
    db().commit()
    flash(message.format(email.strip()), "success")
    return _back(incident)


@bp.get("/contacts.csv")
def csv(ref: str):
    """Download the contact list as CSV."""
    incident = _incident(ref)
    rows = service.iter_contacts(db(), incident, excluded=False)
    filename = f"{incident.reference}-contacts.csv"
    return Response(
        stream_with_context(service.csv_lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
