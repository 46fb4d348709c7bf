"""The parent ticket: created in Zendesk or adopted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from comms.incidents.models import PRIORITY_BY_SEVERITY, Candidate, Incident
from comms.incidents.service import IncidentError, require_open
from comms.incidents.tickets import refuse_taken
from comms.timeline import record
from comms.zendesk import Gateway, Ticket


def create_parent(
    db_session: Session, gateway: Gateway, incident: Incident, *, by: str, now: datetime
) -> Ticket:
    """Create the parent ticket in Zendesk: a problem named after the incident."""
    require_open(incident)
    if incident.parent_ticket_id:
        raise IncidentError(
            f"{incident.reference} already has parent ticket {incident.parent_ticket_id}."
        )
    ticket = gateway.create_problem(
        subject=f"[{incident.reference}] {incident.title}",
        description=incident.description or incident.title,
        tags=["incident", incident.reference.lower()],
        priority=PRIORITY_BY_SEVERITY[incident.severity],
    )
    _set_parent(db_session, incident, ticket, by=by, now=now, how="Created")
    return ticket


def adopt_parent(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket_id: int,
    *,
    by: str,
    now: datetime,
) -> Ticket:
    """Make an existing ticket the parent: Zendesk turns it into a problem."""
    require_open(incident)
    if incident.parent_ticket_id == ticket_id:
        raise IncidentError(f"Ticket {ticket_id} is already the parent of {incident.reference}.")
    refuse_taken(db_session, incident.id, [ticket_id], move=False)
    ticket = gateway.adopt_as_problem(ticket_id)
    db_session.execute(delete(Candidate).where(Candidate.ticket_id == ticket_id))
    _set_parent(db_session, incident, ticket, by=by, now=now, how="Adopted")
    return ticket


def _set_parent(
    db_session: Session, incident: Incident, ticket: Ticket, *, by: str, now: datetime, how: str
) -> None:
    before = incident.parent_ticket_id
    incident.parent_ticket_id = ticket.id
    record(
        db_session,
        incident,
        actor=by,
        kind="parent",
        now=now,
        summary=f"{how} ticket {ticket.id} as the parent ticket: {ticket.subject}"
        + (f" (replacing {before})" if before else ""),
        details={"ticket_id": ticket.id, "previous": before},
    )
