"""Send a severity or status changed in comms to incident.io, when [incident_io] push_changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from comms.config import IncidentIoSettings, Settings
from comms.incident_io.gateway import IncidentIoError, IncidentIoGateway
from comms.incident_io.models import FollowedIncident
from comms.incident_io.service import followed, pushing
from comms.incidents.models import Incident
from comms.timeline import record


def severity_id(config: IncidentIoSettings, severities: list[dict[str, Any]], wanted: str) -> str:
    """The most severe incident.io severity whose rank maps to this comms severity."""
    ranks = {int(rank) for rank, name in config.severity_by_rank.items() if name == wanted}
    found = sorted((s for s in severities if s.get("rank") in ranks), key=lambda s: s["rank"])
    return str(found[-1]["id"]) if found else ""


def status_id(config: IncidentIoSettings, statuses: list[dict[str, Any]], wanted: str) -> str:
    """The first incident.io status (by rank) named, or else in a category, for this status."""
    names = {name.lower() for name, status in config.status_by_name.items() if status == wanted}
    categories = {c for c, status in config.status_by_category.items() if status == wanted}
    ordered = sorted(statuses, key=lambda s: s.get("rank", 0))
    for matches in (
        lambda s: str(s.get("name", "")).lower() in names,
        lambda s: s.get("category") in categories,
    ):
        found = [s for s in ordered if matches(s)]
        if found:
            return str(found[0]["id"])
    return ""


def _pushed_to(
    db_session: Session, incident: Incident, settings: Settings
) -> FollowedIncident | None:
    """The incident.io incident that hears of changes in comms, if [incident_io] push_changes."""
    config = settings.incident_io
    if not (config.configured and config.push_changes):
        return None
    return followed(db_session, incident)


def _changed(incident: Incident, severity: bool, status: bool) -> set[str]:
    """The fields a push sends: a resolution is the comms manager's, never pushed."""
    fields = {"severity"} if severity else set()
    if status and incident.status != "resolved":
        fields.add("status")
    return fields


def mark_pushing(
    db_session: Session,
    incident: Incident,
    *,
    severity: bool,
    status: bool,
    settings: Settings,
    now: datetime,
) -> None:
    """Note, in the transaction of the change, what is about to be sent: until incident.io has
    answered, a webhook showing its older value does not take the change back (an echo)."""
    row = _pushed_to(db_session, incident, settings)
    fields = _changed(incident, severity, status)
    if row and fields:
        row.push_pending = ",".join(sorted(pushing(row, now) | fields))
        row.push_pending_since = now


def _answered(row: FollowedIncident, fields: set[str], now: datetime) -> None:
    """incident.io answered the push of these fields (or could not be told): follow it again."""
    left = pushing(row, now) - fields
    row.push_pending = ",".join(sorted(left))
    row.push_pending_since = row.push_pending_since if left else None


def push_change(
    db_session: Session,
    incident: Incident,
    *,
    severity: bool,
    status: bool,
    settings: Settings,
    now: datetime,
) -> None:
    """Tell incident.io; what it answered goes on the timeline (a failure is shown, not fatal)."""
    config = settings.incident_io
    row = _pushed_to(db_session, incident, settings)
    if row is None or not _changed(incident, severity, status):
        return
    _answered(row, _changed(incident, severity, status), now)
    try:
        with IncidentIoGateway(config) as gateway:
            fields = {}
            if severity:
                fields["severity_id"] = severity_id(config, gateway.severities(), incident.severity)
            if status and incident.status != "resolved":
                fields["incident_status_id"] = status_id(
                    config, gateway.statuses(), incident.status
                )
            fields = {key: value for key, value in fields.items() if value}
            if fields:
                edited = gateway.edit(row.external_id, fields)
                # A state of incident.io fetched before this edit is older: it changes nothing.
                if edited.updated_at and (
                    row.remote_updated_at is None or edited.updated_at > row.remote_updated_at
                ):
                    row.remote_updated_at = edited.updated_at
    except IncidentIoError as error:
        summary = f"Not sent to incident.io {row.reference}: {error}"
        record(
            db_session,
            incident,
            actor="system",
            kind="incident_io_push_failed",
            summary=summary,
            now=now,
        )
        return
    if fields:
        parts = [f"severity {incident.severity}"] if "severity_id" in fields else []
        parts += [f"status {incident.status}"] if "incident_status_id" in fields else []
        sent = " and ".join(parts)
        record(
            db_session,
            incident,
            actor="system",
            kind="incident_io_pushed",
            summary=f"Sent to incident.io {row.reference}: {sent}",
            now=now,
        )
