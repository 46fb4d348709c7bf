"""Follow incident.io: take incidents up, keep severity, status and lead in step, ask to resolve.

The webhook is a hint and the API the truth: every change comes from GET /v2/incidents/{id}
or the reconcile's list, and an older state never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.auth.service import valid_email
from comms.config import Settings
from comms.contacts import service as contacts
from comms.incident_io import mapping
from comms.incident_io.gateway import RemoteIncident
from comms.incident_io.models import FollowedIncident
from comms.incidents import service as incidents
from comms.incidents.models import Incident
from comms.timeline import record
from comms.updates.control import reschedule
from comms.updates.resolve import resolve

ACTOR = "incident.io"
# [incident_io] resolution = "automatic": the clients' last update when incident.io resolves.
AUTOMATIC_RESOLUTION = "The incident is resolved: everything is working normally again."
# How long a change sent from comms keeps incident.io's older value of that field out, at most
# (the push clears it as soon as incident.io answers; this covers a process killed mid-push).
PUSH_WAIT = timedelta(minutes=2)


def followed(db_session: Session, incident: Incident) -> FollowedIncident | None:
    """The incident.io incident a comms incident follows, if any."""
    return db_session.scalar(select(FollowedIncident).filter_by(incident_id=incident.id))


def by_external_id(db_session: Session, external_id: str) -> FollowedIncident | None:
    return db_session.scalar(select(FollowedIncident).filter_by(external_id=external_id))


def declared_only(db_session: Session) -> list[FollowedIncident]:
    """Incidents declared in incident.io, still live, that comms has not taken up."""
    rows = db_session.scalars(
        select(FollowedIncident)
        .filter_by(state="declared")
        .where(FollowedIncident.status_category.in_(("triage", "live")))
        .order_by(FollowedIncident.id)
    )
    return list(rows)


def resolution_pending(db_session: Session) -> list[FollowedIncident]:
    """incident.io resolved them; the comms manager has not sent the resolution yet."""
    rows = db_session.scalars(
        select(FollowedIncident)
        .filter_by(resolution_pending=True)
        .join(Incident, Incident.id == FollowedIncident.incident_id)
        .where(Incident.status != "resolved")
    )
    return list(rows)


def pushing(row: FollowedIncident, now: datetime) -> set[str]:
    """The fields comms is sending to incident.io right now ("severity", "status")."""
    since = row.push_pending_since
    if not row.push_pending or since is None or now - since > PUSH_WAIT:
        return set()
    return set(row.push_pending.split(","))


def follow(
    db_session: Session,
    remote: RemoteIncident,
    *,
    latest_update: str,
    settings: Settings,
    now: datetime,
) -> FollowedIncident:
    """Note incident.io's state; take the incident up or keep the comms incident in step."""
    row = by_external_id(db_session, remote.id)
    if row is None:
        row = FollowedIncident(external_id=remote.id, seen_at=now, state="declared")
        db_session.add(row)
    elif row.remote_updated_at and remote.updated_at and remote.updated_at < row.remote_updated_at:
        return row  # an older state, fetched late: the newer one already counted
    _copy(row, remote, latest_update, now)
    row.lead_name = mapping.lead(settings.incident_io, remote)[0][:200]
    db_session.flush()
    if row.incident_id is None:
        wanted = mapping.taken_up_automatically(settings.incident_io, remote)
        if wanted and mapping.status(settings.incident_io, remote) != "resolved":
            take_up(db_session, row, remote, settings=settings, now=now, by=ACTOR)
    else:
        keep_in_step(db_session, row, remote, settings=settings, now=now)
    return row


def _copy(row: FollowedIncident, remote: RemoteIncident, latest_update: str, now: datetime) -> None:
    row.reference, row.name, row.permalink = remote.reference, remote.name, remote.permalink
    row.severity_name, row.status_name = remote.severity_name, remote.status_name
    row.status_category = remote.status_category
    row.slack_channel_id = remote.slack_channel_id
    row.slack_channel_name = remote.slack_channel_name
    if latest_update:
        row.latest_update = latest_update
    row.remote_updated_at = remote.updated_at
    row.seen_at = now


def take_up(
    db_session: Session,
    row: FollowedIncident,
    remote: RemoteIncident,
    *,
    settings: Settings,
    now: datetime,
    by: str,
    comms_manager: User | None = None,
) -> Incident:
    """Declare the comms incident that follows this incident.io incident."""
    lead_name, lead_email = mapping.lead(settings.incident_io, remote)
    incident = incidents.declare(
        db_session,
        title=(remote.name or remote.reference or "Incident from incident.io")[:200],
        severity=mapping.severity(settings.incident_io, remote.severity_rank),
        settings=settings,
        by=by,
        now=now,
        description=remote.summary,
        lead_name=lead_name[:200],
        lead_email=lead_email if valid_email(lead_email) else "",
        comms_manager=comms_manager,
    )
    row.incident_id, row.state = incident.id, "taken_up"
    db_session.flush()
    record(
        db_session,
        incident,
        actor=ACTOR,
        kind="incident_io_followed",
        now=now,
        summary=f"Follows {remote.reference} in incident.io ({remote.severity_name or 'no'}"
        f" severity, {remote.status_name or 'no status'}): {remote.permalink}",
        details={"external_id": remote.id, "reference": remote.reference},
    )
    status = mapping.status(settings.incident_io, remote)
    if status and status not in ("resolved", incident.status):
        incidents.change_status(
            db_session, incident, status=status, note="set in incident.io", by=ACTOR, now=now
        )
    return incident


def keep_in_step(
    db_session: Session,
    row: FollowedIncident,
    remote: RemoteIncident,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """Severity and status changes in incident.io change the comms incident; resolve asks first."""
    incident = db_session.get(Incident, row.incident_id)
    if incident is None or not incident.is_open:
        return
    sending = pushing(row, now)  # incident.io has not heard of these yet: keep comms' value
    severity = mapping.severity(settings.incident_io, remote.severity_rank)
    if severity != incident.severity and "severity" not in sending:
        incidents.change_severity(
            db_session,
            incident,
            severity=severity,
            note=f"{remote.severity_name} in incident.io",
            by=ACTOR,
            now=now,
            settings=settings,
        )
        contacts.rebuild(db_session, incident, settings)  # seniors join or leave
        reschedule(db_session, incident, now=now, settings=settings)
    status = mapping.status(settings.incident_io, remote)
    if status == "resolved" and settings.incident_io.resolution == "automatic":
        resolve(
            db_session,
            None,
            incident,
            message=AUTOMATIC_RESOLUTION,
            solve_parent=False,
            by=ACTOR,
            now=now,
            settings=settings,
        )
        return
    if status == "resolved":
        if not row.resolution_pending:
            row.resolution_pending = True
            record(
                db_session,
                incident,
                actor=ACTOR,
                kind="incident_io_resolved",
                now=now,
                summary=f"Resolved in incident.io ({remote.status_name}): send the resolution "
                "update to clients from the incident page.",
            )
        return
    row.resolution_pending = False
    if status and status != incident.status and "status" not in sending:
        incidents.change_status(
            db_session, incident, status=status, note="changed in incident.io", by=ACTOR, now=now
        )
