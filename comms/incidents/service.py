"""Declare incidents, change severity and status, and keep the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comms.incidents.models import Incident, LinkedTicket, TimelineEvent


@dataclass(frozen=True)
class DashboardRow:
    incident: Incident
    linked_count: int
    contact_count: int
    next_update_due_at: datetime | None


def record(
    db_session: Session,
    incident: Incident,
    *,
    actor: str,
    kind: str,
    summary: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Add one entry to the incident's timeline; entries are never changed or removed."""
    event = TimelineEvent(
        incident_id=incident.id,
        at=now,
        actor=actor,
        kind=kind,
        summary=summary,
        details=details or {},
    )
    db_session.add(event)
    db_session.flush()
    return event


def open_incidents(db_session: Session) -> list[Incident]:
    return list(db_session.scalars(select(Incident).where(Incident.status != "resolved")))


def dashboard(db_session: Session) -> list[DashboardRow]:
    """Open incidents with their counts, the most severe first, then the oldest."""
    linked = dict(
        db_session.execute(
            select(LinkedTicket.incident_id, func.count()).group_by(LinkedTicket.incident_id)
        ).all()
    )
    order = {"critical": 0, "major": 1, "minor": 2, "trivial": 3}
    incidents = sorted(open_incidents(db_session), key=lambda i: (order[i.severity], i.declared_at))
    return [DashboardRow(i, linked.get(i.id, 0), 0, i.next_update_due_at) for i in incidents]


def get(db_session: Session, ref: str | int) -> Incident | None:
    """Find an incident by reference (`INC-7`) or numeric id."""
    text = str(ref).strip().upper().removeprefix("INC-")
    return db_session.get(Incident, int(text)) if text.isdigit() else None
