"""Declare incidents and change their severity and status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.auth.service import valid_email
from comms.config import Settings
from comms.db import Page, keyset_page
from comms.ids import parse_reference
from comms.incidents.models import SEVERITIES, STATUSES, Incident, LinkedTicket
from comms.timeline import record

SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# What each severity means, from the agency's incident process.
SEVERITY_HELP = {
    "critical": "An outage of one or more sites when they should be available, or a significant "
    "security or data breach. Takes priority over all other work and continues out of hours.",
    "major": "Major functionality (such as site search) broken, or a small security or data "
    "breach. Dealt with in working hours above other non-emergency work.",
    "minor": "Minor functionality or internal tools not working as intended, or a security risk "
    "we are not currently vulnerable to.",
    "trivial": "A retrospective issue still treated as an incident, such as a short outage at a "
    "time the site was not relied on.",
}


class IncidentError(ValueError):
    """The request cannot be carried out; the message says why and what to do."""


def check_title(title: str) -> str:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise IncidentError("The title must have 1 to 200 characters.")
    if CONTROL_CHARACTERS.search(title):
        raise IncidentError("The title cannot contain control characters such as line breaks.")
    return title


def check_severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise IncidentError(f"Severity {severity!r} is not one of {', '.join(SEVERITIES)}.")
    return severity


def _check_details(
    settings: Settings,
    business_unit: str,
    lead_name: str,
    lead_email: str,
    comms_manager: User | None,
) -> None:
    if len(lead_name) > 200:
        raise IncidentError("The incident lead's name must have at most 200 characters.")
    units = settings.web.business_units
    if business_unit and business_unit not in units:
        raise IncidentError(f"Business unit {business_unit!r} is not one of {', '.join(units)}.")
    if lead_email and not valid_email(lead_email):
        raise IncidentError(f"The incident lead's e-mail {lead_email!r} is not an address.")
    if comms_manager is not None and not comms_manager.can_change:
        raise IncidentError(f"{comms_manager.email} is a viewer and cannot manage comms.")


def declare(
    db_session: Session,
    *,
    title: str,
    severity: str,
    settings: Settings,
    by: str,
    now: datetime,
    description: str = "",
    business_unit: str = "",
    lead_name: str = "",
    lead_email: str = "",
    comms_manager: User | None = None,
    security: bool = False,
    keywords: list[str] | None = None,
) -> Incident:
    """Declare an incident; it gets its INC- reference and a first timeline entry."""
    title = check_title(title)
    check_severity(severity)
    lead_email = lead_email.strip()
    _check_details(settings, business_unit, lead_name.strip(), lead_email, comms_manager)
    incident = Incident(
        title=title,
        description=description.strip(),
        severity=severity,
        status="investigating",
        business_unit=business_unit,
        lead_name=lead_name.strip(),
        lead_email=lead_email,
        comms_manager_id=comms_manager.id if comms_manager else None,
        security=security,
        keywords=clean_keywords(keywords or []),
        declared_at=now,
        declared_by=by,
    )
    db_session.add(incident)
    db_session.flush()
    record(
        db_session,
        incident,
        actor=by,
        kind="declared",
        now=now,
        summary=f"Declared {incident.reference} ({severity}): {title}",
        details={"severity": severity, "business_unit": business_unit, "security": security},
    )
    return incident


def clean_keywords(words: list[str]) -> list[str]:
    found: list[str] = []
    for word in words:
        word = CONTROL_CHARACTERS.sub("", str(word)).strip()
        if word and word.lower() not in (w.lower() for w in found):
            found.append(word[:100])
    return found[:20]


def change_severity(
    db_session: Session,
    incident: Incident,
    *,
    severity: str,
    note: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Raise or lower severity; seniors join or leave the next update's audience at once."""
    check_severity(severity)
    if severity == incident.severity:
        return
    before = incident.severity
    incident.severity = severity
    raised = SEVERITY_ORDER[severity] < SEVERITY_ORDER[before]
    seniors_before = before in settings.contacts.senior_at
    seniors_after = severity in settings.contacts.senior_at
    audience = ""
    if seniors_after and not seniors_before:
        audience = " Senior stakeholders now receive updates."
    elif seniors_before and not seniors_after:
        audience = " Senior stakeholders no longer receive updates."
    record(
        db_session,
        incident,
        actor=by,
        kind="severity",
        now=now,
        summary=f"Severity {'raised' if raised else 'lowered'} from {before} to {severity}."
        + audience
        + (f" Note: {note}" if note else ""),
        details={"from": before, "to": severity, "note": note},
    )


def change_status(
    db_session: Session, incident: Incident, *, status: str, note: str, by: str, now: datetime
) -> None:
    """Move the incident between investigating, identified and monitoring."""
    if status == "resolved":
        raise IncidentError("Resolve the incident with the resolve form: it sends the last update.")
    if status not in STATUSES:
        raise IncidentError(f"Status {status!r} is not one of {', '.join(STATUSES[:3])}.")
    if not incident.is_open:
        raise IncidentError(f"{incident.reference} is resolved; its status cannot change.")
    if status == incident.status:
        return
    before, incident.status = incident.status, status
    record(
        db_session,
        incident,
        actor=by,
        kind="status",
        now=now,
        summary=f"Status changed from {before} to {status}." + (f" Note: {note}" if note else ""),
        details={"from": before, "to": status, "note": note},
    )


def require_open(incident: Incident) -> None:
    if not incident.is_open:
        raise IncidentError(f"{incident.reference} is resolved; it cannot be changed.")


def get(db_session: Session, ref: str | int) -> Incident | None:
    """Find an incident by reference (`INC-7`) or numeric id."""
    incident_id = parse_reference(ref)
    return db_session.get(Incident, incident_id) if incident_id is not None else None


def list_incidents(db_session: Session, *, include_resolved: bool = True) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc())
    if not include_resolved:
        query = query.where(Incident.status != "resolved")
    return list(db_session.scalars(query))


# The status filter of the incidents list: open ones, or one status.
STATUS_FILTERS = ("open", *STATUSES)


def incidents_page(
    db_session: Session,
    *,
    status: str = "",
    severity: str = "",
    search: str = "",
    size: int,
    after: int | None,
) -> Page[Incident]:
    """A page of incidents, newest first, of a status ("open" for any but resolved) and a
    severity, whose reference or title holds `search` (case-insensitively)."""
    query = select(Incident)
    if status == "open":
        query = query.where(Incident.status != "resolved")
    elif status:
        query = query.where(Incident.status == status)
    if severity:
        query = query.where(Incident.severity == severity)
    words = search.strip()
    if words:
        matches = Incident.title.icontains(words, autoescape=True)
        number = parse_reference(words)
        query = query.where(or_(matches, Incident.id == number) if number else matches)
    return keyset_page(
        db_session,
        query,
        [Incident.id],
        id_column=Incident.id,
        size=size,
        after=after,
        descending=True,
    )


def open_incidents(db_session: Session) -> list[Incident]:
    return list_incidents(db_session, include_resolved=False)


def linked_counts(db_session: Session, incident_ids: Sequence[int]) -> dict[int, int]:
    """How many tickets are linked to each of these incidents (absent when none)."""
    rows = db_session.execute(
        select(LinkedTicket.incident_id, func.count())
        .where(LinkedTicket.incident_id.in_(incident_ids), LinkedTicket.state == "linked")
        .group_by(LinkedTicket.incident_id)
    )
    return {incident_id: count for incident_id, count in rows}
