"""The dashboard: open incidents, the one most in need of attention first, with their counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comms.config import Settings
from comms.incident_io.models import FollowedIncident
from comms.incident_io.service import declared_only, resolution_pending
from comms.incidents.models import Incident
from comms.incidents.service import SEVERITY_ORDER, linked_counts, open_incidents
from comms.updates.control import schedule_states
from comms.updates.history import troubled_deliveries


@dataclass(frozen=True)
class DashboardRow:
    incident: Incident
    linked_count: int
    contact_count: int
    next_update_due_at: datetime | None
    resolved_in_incident_io: bool = False
    update_state: str = ""  # "next update 14:00 (in 12 min)", "paused by Dana at 13:20", …
    overdue: bool = False  # an update should have gone out and has not
    failed: int = 0  # deliveries that failed or may not have arrived (uncertain)
    retrying: int = 0

    @property
    def needs_attention(self) -> bool:
        """Overdue, or mail to clients failing: what the comms manager must look at first."""
        return self.overdue or self.failed > 0 or self.retrying > 0


def dashboard(db_session: Session, settings: Settings, *, now: datetime) -> list[DashboardRow]:
    """Open incidents with their counts and the state of their updates in words: those overdue
    or failing first, then the most severe, then the oldest."""
    resolved_elsewhere = {row.incident_id for row in resolution_pending(db_session)}
    incidents = open_incidents(db_session)
    ids = [i.id for i in incidents]
    linked = linked_counts(db_session, ids)
    states = schedule_states(db_session, incidents, now=now, settings=settings)
    troubles = troubled_deliveries(db_session, ids)
    rows = [
        DashboardRow(
            incident,
            linked.get(incident.id, 0),
            incident.contact_count,
            incident.next_update_due_at,
            incident.id in resolved_elsewhere,
            update_state=states[incident.id],
            overdue=_overdue(incident, now),
            failed=troubles[incident.id]["failed"] + troubles[incident.id]["uncertain"],
            retrying=troubles[incident.id]["retrying"],
        )
        for incident in incidents
    ]
    return sorted(
        rows,
        key=lambda row: (
            not row.needs_attention,
            SEVERITY_ORDER[row.incident.severity],
            row.incident.declared_at,
        ),
    )


def _overdue(incident: Incident, now: datetime) -> bool:
    """A due update that has not gone out; a paused schedule is not overdue."""
    due = incident.next_update_due_at
    return not incident.schedule_paused and due is not None and due < now


def declared_in_incident_io(db_session: Session) -> list[FollowedIncident]:
    """Live incidents declared in incident.io that comms has not taken up (one click does)."""
    return declared_only(db_session)
