"""The parent ticket: created in Zendesk or adopted; and declaring from a client's ticket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.incidents.models import PRIORITY_BY_SEVERITY, Candidate, Incident
from comms.incidents.service import IncidentError, require_open
from comms.incidents.tickets import add_candidate, link, refuse_taken
from comms.timeline import record
from comms.zendesk import Gateway, Ticket, ZendeskError


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


def declare_from_ticket(
    db_session: Session,
    gateway: Gateway,
    ticket_id: int,
    *,
    as_parent: bool,
    commit: Callable[[], None],
    by: str,
    now: datetime,
    settings: Settings,
    **fields,
) -> Incident:
    """Declare from a client's ticket: its organisation is affected; it is linked or the parent.

    Each step is committed when Zendesk has done it, so a failure later keeps what was done.
    """
    from comms.contacts import service as contacts
    from comms.incidents.service import declare

    ticket = gateway.ticket(ticket_id)  # an unknown or closed ticket stops here, nothing recorded
    if ticket.closed:
        raise IncidentError(f"Ticket {ticket_id} is closed; Zendesk cannot link or adopt it.")
    refuse_taken(db_session, None, [ticket_id], move=False)
    organization = gateway.organizations([ticket.organization_id]) if ticket.organization_id else []
    incident = declare(db_session, by=by, now=now, settings=settings, **fields)
    record(
        db_session,
        incident,
        actor=by,
        kind="declared-from-ticket",
        now=now,
        summary=f"Declared from ticket {ticket.id}: {ticket.subject}",
        details={"ticket_id": ticket.id, "as_parent": as_parent},
    )
    if organization:
        contacts.add_organizations(
            db_session,
            incident,
            organization,
            how=f"ticket {ticket.id}",
            by=by,
            now=now,
            settings=settings,
        )
    commit()
    try:
        if as_parent:
            adopt_parent(db_session, gateway, incident, ticket.id, by=by, now=now)
        else:
            add_candidate(db_session, incident, ticket, source="declared", now=now)
            commit()
            create_parent(db_session, gateway, incident, by=by, now=now)
            commit()
            link(db_session, gateway, incident, [ticket.id], by=by, now=now, settings=settings)
        commit()
    except (IncidentError, ZendeskError) as error:
        raise PartlyDeclared(incident, error) from error
    return incident


class PartlyDeclared(IncidentError):
    """The incident was declared, but a later Zendesk step failed."""

    def __init__(self, incident: Incident, error: Exception) -> None:
        super().__init__(f"{incident.reference} was declared, but: {error}")
        self.incident = incident
