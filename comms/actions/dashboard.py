"""The dashboard: open incidents with their ticket and contact counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.service import contact_list
from comms.incidents.models import Incident
from comms.incidents.service import SEVERITY_ORDER, linked_counts, open_incidents


@dataclass(frozen=True)
class DashboardRow:
    incident: Incident
    linked_count: int
    contact_count: int
    next_update_due_at: datetime | None


def dashboard(db_session: Session, settings: Settings) -> list[DashboardRow]:
    """Open incidents with their counts, the most severe first, then the oldest."""
    linked = linked_counts(db_session)
    incidents = sorted(
        open_incidents(db_session), key=lambda i: (SEVERITY_ORDER[i.severity], i.declared_at)
    )
    return [
        DashboardRow(
            incident,
            linked.get(incident.id, 0),
            len(contact_list(db_session, incident, settings)),
            incident.next_update_due_at,
        )
        for incident in incidents
    ]
