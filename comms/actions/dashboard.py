"""The dashboard: open incidents with their ticket and contact counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comms.config import Settings
from comms.incident_io.models import FollowedIncident
from comms.incident_io.service import declared_only, resolution_pending
from comms.incidents.models import Incident
from comms.incidents.service import SEVERITY_ORDER, linked_counts, open_incidents


@dataclass(frozen=True)
class DashboardRow:
    incident: Incident
    linked_count: int
    contact_count: int
    next_update_due_at: datetime | None
    resolved_in_incident_io: bool = False


def dashboard(db_session: Session, settings: Settings) -> list[DashboardRow]:
    """Open incidents with their counts, the most severe first, then the oldest."""
    resolved_elsewhere = {row.incident_id for row in resolution_pending(db_session)}
    incidents = sorted(
        open_incidents(db_session), key=lambda i: (SEVERITY_ORDER[i.severity], i.declared_at)
    )
    linked = linked_counts(db_session, [i.id for i in incidents])
    return [
        DashboardRow(
            incident,
            linked.get(incident.id, 0),
            incident.contact_count,
            incident.next_update_due_at,
            incident.id in resolved_elsewhere,
        )
        for incident in incidents
    ]


def declared_in_incident_io(db_session: Session) -> list[FollowedIncident]:
    """Live incidents declared in incident.io that comms has not taken up (one click does)."""
    return declared_only(db_session)
